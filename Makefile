# kensa — see README.md. The two set-up commands are `make demo` and
# `make test`; everything they need is fetched on first use.

GO        ?= go
BIN       := bin/kensa
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 20s
PKGS      := ./...

.PHONY: build test demo bench bench-scale bench-real fuzz lint vet clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/kensa

# Unit, golden-file and integration tests. Integration tests start the
# real Debian daemons (Postfix, Dovecot, OpenSSH, chrony) on loopback and
# run headless Chromium, pdftotext and python3-openpyxl when they are
# installed (.ci/run installs them) and skip with a message otherwise —
# except under CI=true, where a missing daemon, tool or privilege fails
# them. The list of integration tests that ran is printed at the end.
# Files tests keep for people to look at (the HTML report's screenshot)
# go under $(ARTIFACTS).
ARTIFACTS ?= test-artifacts

test: vet
	@log=$$(mktemp); rm -rf $(ARTIFACTS); mkdir -p $(ARTIFACTS); \
	KENSA_INTEGRATION_LOG=$$log $(GO) test -count=1 -timeout 20m -artifacts -outputdir $(abspath $(ARTIFACTS)) $(PKGS); rc=$$?; \
	echo "integration tests that ran against real daemons and tools: $$(wc -l < $$log)"; \
	sort $$log | sed 's/^/  /'; \
	shots=$$(find $(ARTIFACTS) -name '*.png' 2>/dev/null | sort); \
	if [ -n "$$shots" ]; then echo "screenshots kept:"; echo "$$shots" | sed 's/^/  /'; fi; \
	rm -f $$log; exit $$rc

vet:
	$(GO) vet $(PKGS)

# The embedded default: a simulated fleet on loopback, scanned and graded;
# leaves kensa-demo/report.html and kensa-demo/report.xlsx.
demo: build
	./$(BIN) demo

bench: build
	./scripts/bench.sh

bench-scale: build
	./scripts/bench.sh --scale

# kensa against nmap on real Debian daemons (Postfix, Exim, Dovecot,
# OpenSSH, chrony) on loopback, with their stock delays and limits; the
# floor is the slowest host scanned alone. Needs root; installs what is
# missing (see bench/real --help).
bench-real: build
	./bench/real

# Runs every fuzz target for FUZZTIME each; the seed corpora under
# testdata/fuzz also run as ordinary tests in `make test`.
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin $(ARTIFACTS)
