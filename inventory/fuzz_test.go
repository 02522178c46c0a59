package inventory

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kensa-inspect/kensa/probes"
	"github.com/kensa-inspect/kensa/scoring"
)

// FuzzParse feeds arbitrary bytes to the CSV and YAML readers (and to the
// format sniffer): they must never panic, and must either refuse the file
// with well-formed problems or return servers that satisfy the contract.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(fixtures + "*.*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	for _, s := range []string{
		header + "mx-1,総務省,本省,192.0.2.1,smtp:25 imap:143,S2=pass,\"a\nb\"\n",
		header + "mx-1,総務省,本省,[2001:db8::1],smtp:25,,\"unclosed\n",
		"\uFEFF" + header + ",,,,,,\n#c\n\r\nmx,o,u,h,a:b:c,=,\r",
		y1 + "  services: [smtp:25, {name: imap, port: 143}, {ssh: 22}]\n  declared: {S2: pass}\n",
		"servers:\n  - &a {id: x}\n  - *a\n",
		"\"",
		"- [\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"f.csv", "f.yaml", "f"} {
			inv, err := Parse(name, data)
			if err != nil {
				if inv != nil {
					t.Fatalf("%s: an inventory and an error", name)
				}
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: error %T is not *Error: %v", name, err, err)
				}
				if len(e.Problems) == 0 || len(e.Problems) > MaxProblems || e.More < 0 {
					t.Fatalf("%s: %d problems, %d more", name, len(e.Problems), e.More)
				}
				for _, p := range e.Problems {
					if p.File != name || p.Line < 0 || p.Column < 0 || p.Msg == "" {
						t.Fatalf("%s: malformed problem %+v", name, p)
					}
				}
				_ = e.Error()
				continue
			}
			if len(inv.Servers) == 0 {
				t.Fatalf("%s: accepted with no servers", name)
			}
			ids := map[string]bool{}
			for _, s := range inv.Servers {
				if s.ID == "" || s.Org == "" || s.Unit == "" || s.Host == "" || ids[s.ID] {
					t.Fatalf("%s: bad server accepted: %+v", name, s)
				}
				ids[s.ID] = true
				if h, err := normalizeHost(s.Host); err != nil || h != s.Host {
					t.Fatalf("%s: host %q not normalised (%q, %v)", name, s.Host, h, err)
				}
				for _, svc := range s.Services {
					if _, ok := probes.Lookup(svc.Name); !ok || svc.Port < 1 || svc.Port > 65535 {
						t.Fatalf("%s: bad service accepted: %+v", name, svc)
					}
				}
				for code, o := range s.Declared {
					if _, ok := scoring.MailCatalog.Item(code); !ok || (o != "pass" && o != "fail") {
						t.Fatalf("%s: bad declaration accepted: %s=%s", name, code, o)
					}
				}
			}
			sum := Summarize(inv)
			if err := sum.WriteText(io.Discard); err != nil {
				t.Fatal(err)
			}
			if err := sum.WriteJSON(io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// bigInventory returns a CSV inventory of n servers, like a
// government-wide one.
func bigInventory(n int) []byte {
	var b []byte
	b = append(b, header...)
	orgs := []string{"総務省", "財務省", "外務省", "国土交通省", "厚生労働省"}
	for i := range n {
		b = fmt.Appendf(b, "mx-%04d,%s,地方支分部局,198.51.%d.%d,smtp:25 submission:587 imap:143 pop3:110 ssh:22 ntp:123,S2=pass M3=pass,\"備考 %d\"\n",
			i, orgs[i%len(orgs)], 100+i/250, i%250+1, i)
	}
	return b
}

func BenchmarkParseCSV(b *testing.B) {
	data := bigInventory(1900)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("big.csv", data); err != nil {
			b.Fatal(err)
		}
	}
}
