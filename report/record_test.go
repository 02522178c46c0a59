package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// probeRecord is one server's record as kensa probe shows it: two
// addresses, services listed and discovered, answering or not, three
// fingerprints, a declaration combined with a probe verdict, a
// discrepancy, an exception and findings. The observations are written
// as the probes store them (JSON), so that the test reads what a
// results file holds.
func probeRecord(t *testing.T) *results.Record {
	t.Helper()
	obs := `{
	  "addresses": ["192.0.2.10", "192.0.2.11"],
	  "problems": ["server budget of 3m0s spent before every probe finished"],
	  "services": [
	    {"service": "smtp", "address": "192.0.2.10", "port": 25, "listed": true, "state": "answered"},
	    {"service": "imap", "address": "192.0.2.10", "port": 143, "listed": true, "state": "no-answer"},
	    {"service": "pop3", "address": "192.0.2.10", "port": 110, "listed": false, "state": "no-answer"},
	    {"service": "ssh", "address": "192.0.2.10", "port": 22, "listed": false, "state": "answered"},
	    {"service": "smtp", "address": "192.0.2.11", "port": 25, "listed": true, "state": "not-probed"}
	  ],
	  "fingerprints": [
	    {"service": "smtp", "address": "192.0.2.10", "port": 25, "product": "Postfix", "version": "", "distro": "debian",
	     "distro_release": "", "package_version": "", "os": "Debian", "evidence": ["greeting: 220 mx ESMTP Postfix (Debian/GNU)"]},
	    {"service": "ssh", "address": "192.0.2.10", "port": 22, "product": "OpenSSH", "version": "9.2p1", "distro": "debian",
	     "distro_release": "12", "package_version": "1:9.2p1-2+deb12u7", "os": "Debian 12 (bookworm)"},
	    {"service": "smtp", "address": "192.0.2.11", "port": 25, "product": "", "version": "", "distro": "", "distro_release": "",
	     "package_version": "", "os": "Windows"}
	  ]
	}`
	if !json.Valid([]byte(obs)) {
		t.Fatal("test observations are not JSON")
	}
	return &results.Record{
		Schema:  results.Schema,
		Scan:    results.ScanMeta{AdvisoriesAsOf: "2026-11-29", AsOf: "2026-11-01"},
		Server:  results.ServerRef{ID: "mx-1", Org: "甲省", Unit: "本省", Host: "mx1.example.jp", Addresses: []string{"192.0.2.10", "192.0.2.11"}},
		Started: time.Date(2026, 11, 1, 1, 0, 10, 0, time.UTC), DurationMS: 1210,
		Items: map[string]scoring.Verdict{
			"M1": {Outcome: scoring.Pass, Source: scoring.FromDeclared, Reason: "declared pass; probe could not decide: no banner shows the OS",
				Probed: scoring.Unknown, Declared: scoring.Pass},
			"M2": {Outcome: scoring.Pass, Source: scoring.FromProbe, Reason: "no finding is left after the exceptions",
				Exception: "mx-1: CVE-2026-0001 until 2027-03-31",
				Evidence:  []string{"192.0.2.10:25 smtp CVE-2026-0001: in range [removed by exception]", "advisory data as of 2026-11-29"}},
			"A1": {Outcome: scoring.Fail, Source: scoring.FromProbe, Reason: "probe saw fail, declared pass: relayed",
				Probed: scoring.Fail, Declared: scoring.Pass, Discrepancy: true,
				Evidence: []string{"192.0.2.10:25 smtp C: RCPT TO:<relaytest@kensa-relay-test.example>", "192.0.2.10:25 smtp S: 250 2.1.5 Ok"}},
			"P1": {Outcome: scoring.Unknown, Source: scoring.FromProbe, Reason: "192.0.2.10:143 imap: not fully checked: connect: refused"},
			"X1": {Outcome: scoring.NA, Source: scoring.FromProbe, Reason: "no service the item applies to"},
		},
		Observations: json.RawMessage(obs),
		Findings:     []string{"undeclared service answering: ssh:22"},
	}
}

// TestRecordText checks the per-server text, line by line, in English.
// The lines worked out from the record:
//   - the addresses in parentheses, since the host is a name;
//   - the services that answered or are listed (pop3 neither: left
//     out), the state as recorded, "listed" or "discovered";
//   - the software: distribution and release, the package, and the OS
//     only when no distribution shows; "(not recognised)" without a
//     product;
//   - each item's outcome word padded to the widest of the four words
//     ("unknown", 7), its source and reason; nothing more for na; the
//     discrepancy, the exception and the evidence lines when there are.
func TestRecordText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteRecordText(&b, probeRecord(t), testCatalog, "en"); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"kensa probe mx1.example.jp (192.0.2.10, 192.0.2.11) — 2026-11-01 01:00:10 UTC, 1210 ms",
		"advisory data as of 2026-11-29; evaluated as of 2026-11-01",
		"problem: server budget of 3m0s spent before every probe finished",
		"",
		"services",
		"  smtp       192.0.2.10:25  answered (listed)",
		"  imap       192.0.2.10:143  no-answer (listed)",
		"  ssh        192.0.2.10:22  answered (discovered, not in the inventory)",
		"  smtp       192.0.2.11:25  not-probed (listed)",
		"",
		"software",
		"  smtp       192.0.2.10:25  Postfix (debian)",
		"  ssh        192.0.2.10:22  OpenSSH 9.2p1 (debian 12, package 1:9.2p1-2+deb12u7)",
		"  smtp       192.0.2.11:25  (not recognised) (Windows)",
		"",
		"verdicts",
		"  M1 pass    OS patches",
		"     declared: declared pass; probe could not decide: no banner shows the OS",
		"  M2 pass    Mail software patches",
		"     probe: no finding is left after the exceptions",
		"     by exception: mx-1: CVE-2026-0001 until 2027-03-31",
		"       | 192.0.2.10:25 smtp CVE-2026-0001: in range [removed by exception]",
		"       | advisory data as of 2026-11-29",
		"  A1 fail    Open relay",
		"     probe: probe saw fail, declared pass: relayed",
		"     discrepancy: probe fail, declared pass",
		"       | 192.0.2.10:25 smtp C: RCPT TO:<relaytest@kensa-relay-test.example>",
		"       | 192.0.2.10:25 smtp S: 250 2.1.5 Ok",
		"  P1 unknown Receiving",
		"     probe: 192.0.2.10:143 imap: not fully checked: connect: refused",
		"  X1 na      Submission (supplementary)",
		"",
		"findings (weak algorithms and TLS fail items only where the policy says so)",
		"  - undeclared service answering: ssh:22",
		"",
	}, "\n")
	if got := b.String(); got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d\n got %q\nwant %q", i+1, g, w)
			}
		}
	}
}

// TestRecordTextJapanese: the Japanese text translates headings,
// outcome words and item names, pads the outcome words by display width
// (確認不能 is 8 columns wide, 実施 4) and keeps evidence verbatim.
func TestRecordTextJapanese(t *testing.T) {
	var b bytes.Buffer
	if err := WriteRecordText(&b, probeRecord(t), testCatalog, "ja"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nサービス\n",
		"  smtp       192.0.2.10:25  answered (インベントリ記載)\n",
		"  M1 実施     OS\n",
		"     申告: declared pass; probe could not decide: no banner shows the OS\n",
		"  P1 確認不能 受信\n",
		"     相違：測定 未実施、申告 実施\n",
		"       | 192.0.2.10:25 smtp S: 250 2.1.5 Ok\n",
		"  X1 対象外   送信（補完調査）\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRecordTextWithoutObservations: a record read without its
// observations (results.ReadOptions.SkipObservations) still shows every
// verdict, with empty service and software lists.
func TestRecordTextWithoutObservations(t *testing.T) {
	rec := probeRecord(t)
	rec.Observations = nil
	var b bytes.Buffer
	if err := WriteRecordText(&b, rec, testCatalog, "en"); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	if !strings.Contains(got, "\nservices\n\nverdicts\n  M1 pass    OS patches\n") || strings.Contains(got, "\nsoftware\n") {
		t.Errorf("text:\n%s", got)
	}
}
