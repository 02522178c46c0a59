package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/fingerprint"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

var asOf = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// fps identifies banners given as "service port kind|text".
func fps(lines ...string) []observe.Fingerprint {
	var bs []observe.Banner
	for _, l := range lines {
		head, text, _ := strings.Cut(l, "|")
		f := strings.Fields(head)
		port := map[string]int{"smtp": 25, "submission": 587, "imap": 143, "pop3": 110, "ssh": 22, "telnet": 23}[f[0]]
		bs = append(bs, observe.Banner{Service: f[0], Address: "192.0.2.10", Port: port, Kind: f[1], Text: text})
	}
	return fingerprint.Identify(bs)
}

// m2 grades fps as the fingerprints of services that all answered.
func m2(fs []observe.Fingerprint, db *advisory.DB, exc *advisory.Exceptions, id, host string, at time.Time, pol Policy) scoring.Verdict {
	return M2MailSoftwarePatches(fs, answered(fs), db, exc, id, host, at, pol)
}

// answered lists the services of fingerprints as listed and answering.
func answered(fs []observe.Fingerprint) []observe.Service {
	var out []observe.Service
	for _, f := range fs {
		out = append(out, observe.Service{Service: f.Service, Address: f.Address, Port: f.Port, Listed: true, State: observe.StateAnswered})
	}
	return out
}

func mustExc(t *testing.T, s string) *advisory.Exceptions {
	t.Helper()
	x, err := advisory.ParseExceptionsString(s)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func hasEvidence(v scoring.Verdict, sub string) bool {
	for _, e := range v.Evidence {
		if strings.Contains(e, sub) {
			return true
		}
	}
	return false
}

func TestM2(t *testing.T) {
	db := advisory.Default()
	cases := []struct {
		name   string
		fps    []observe.Fingerprint
		want   scoring.Outcome
		reason []string
		evid   []string
	}{
		{"exim 4.96 no marker", fps("smtp greeting|220 mx ESMTP Exim 4.96 #2 Mon, 02 Nov 2026 09:00:00 +0900"), scoring.Fail,
			[]string{"CVE-2023-42115", "CVE-2023-51766", "EOL:Exim:4.96", "backported fix needs an exception"}, []string{"advisory data as of 2026-11-29", "greeting: 220 mx ESMTP Exim 4.96"}},
		{"exim 4.92 several", fps("smtp greeting|220 mx ESMTP Exim 4.92 #2 Wed, 05 Jun 2019 10:00:00 -0500"), scoring.Fail,
			[]string{"CVE-2019-15846", "CVE-2020-28017", "CVE-2023-42115"}, nil},
		{"postfix debian hidden", fps("smtp greeting|220 mx ESMTP Postfix (Debian/GNU)"), scoring.Unknown, []string{"version hidden"}, nil},
		{"postfix 2.5.1 eol and cve", fps("smtp greeting|220 mx ESMTP Postfix (2.5.1)"), scoring.Fail, []string{"CVE-2011-1720", "CVE-2023-51764", "EOL:Postfix:2.5"}, nil},
		{"postfix 3.9.14 selection", fps("smtp greeting|220 mx ESMTP Postfix (3.9.14)"), scoring.Unknown, []string{"selection, not complete"}, nil},
		{"postfix 3.9.1 vendor fixes", fps("smtp greeting|220 mx ESMTP Postfix (3.9.1)"), scoring.Fail, []string{"CVE-2026-43964", "POSTFIX-2026-08-11"}, nil},
		{"cyrus 3.10.1 cves", fps("imap greeting|* OK mx Cyrus IMAP 3.10.1 server ready"), scoring.Fail, []string{"CVE-2026-47084", "CYRUS-ISSUE-5495"}, nil},
		{"cyrus 3.12.3 selection", fps("imap greeting|* OK mx Cyrus IMAP 3.12.3 server ready"), scoring.Unknown, []string{"selection, not complete"}, nil},
		{"sendmail debian 12 undecidable", fps("smtp greeting|220 mx ESMTP Sendmail 8.17.1.9/8.17.1.9/Debian-2+deb12u2; Sun, 1 Nov 2026"), scoring.Unknown, []string{"no debian 12 data for CVE-2023-51765"}, nil},
		{"sendmail ubuntu 22.04 unfixed", fps("smtp greeting|220 mx ESMTP Sendmail 8.15.2/8.15.2/Debian-22ubuntu3; Mon, 2 Nov 2026"), scoring.Fail, []string{"CVE-2023-51765"}, []string{"no fix was released"}},
		{"sendmail 8.14.4 upstream", fps("smtp greeting|220 mx ESMTP Sendmail 8.14.4/8.14.4; Mon, 2 Nov 2026"), scoring.Fail, []string{"CVE-2023-51765", "EOL:Sendmail:<8.18"}, nil},
		{"dovecot ubuntu hidden", fps("imap greeting|* OK Dovecot (Ubuntu) ready."), scoring.Unknown, []string{"hidden"}, nil},
		{"dovecot 2.3.7 from id", fps("imap greeting|* OK Dovecot ready.", "imap id|name=Dovecot version=2.3.7"), scoring.Fail, []string{"CVE-2019-11500"}, nil},
		{"iis smtp 2003", fps("smtp greeting|220 mx Microsoft ESMTP MAIL Service, Version: 6.0.3790.3959 ready at  Mon, 2 Nov 2009"), scoring.Fail, []string{"EOL:Microsoft SMTP Service (IIS):6.0"}, nil},
		{"exchange 2007 imap", fps("imap greeting|* OK Microsoft Exchange Server 2007 IMAP4 service ready"), scoring.Fail, []string{"EOL:Microsoft Exchange:2007"}, nil},
		{"exchange 2016 by build", fps("pop3 greeting|+OK Microsoft Exchange Server 2003 POP3 server version 6.5.7638.1 (x) ready."), scoring.Fail, []string{"EOL:Microsoft Exchange:2003"}, nil},
		{"exchange 2010+", fps("smtp greeting|220 mx Microsoft ESMTP MAIL Service ready at Mon, 2 Nov 2026", "imap greeting|* OK The Microsoft Exchange IMAP4 service is ready."), scoring.Unknown, []string{"version hidden"}, nil},
		{"cyrus el5 package", fps("imap greeting|* OK mx Cyrus IMAP v2.3.7-Invoca-RPM-2.3.7-7.el5 server ready"), scoring.Unknown, []string{"no el 5 data"}, nil},
		{"unrecognised", fps("smtp greeting|220 mx ESMTP"), scoring.Unknown, []string{"not recognised"}, nil},
		{"no mail service", fps("ssh identification|SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"), scoring.Unknown, []string{"no SMTP, IMAP or POP3"}, nil},
		{"nothing", nil, scoring.Unknown, []string{"no SMTP"}, nil},
		{"opensmtpd debian 10 package hidden", fps("smtp greeting|220 mx ESMTP OpenSMTPD"), scoring.Unknown, []string{"hidden"}, nil},
		{"one fail among unknowns", fps("smtp greeting|220 mx ESMTP Postfix (Debian/GNU)", "imap greeting|* OK mx IMAP4rev1 2007b.404 at Mon, 2 Nov 2009", "pop3 greeting|+OK Dovecot ready."), scoring.Unknown, []string{"UW-IMAP 2007b.404"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := m2(c.fps, db, nil, "mx-01", "192.0.2.10", asOf, DefaultPolicy())
			if v.Outcome != c.want {
				t.Fatalf("outcome %s, want %s: %s\n%s", v.Outcome, c.want, v.Reason, strings.Join(v.Evidence, "\n"))
			}
			if v.Source != scoring.FromProbe {
				t.Errorf("source %s", v.Source)
			}
			for _, r := range c.reason {
				if !strings.Contains(v.Reason, r) && !hasEvidence(v, r) {
					t.Errorf("reason lacks %q: %s", r, v.Reason)
				}
			}
			for _, e := range c.evid {
				if !hasEvidence(v, e) {
					t.Errorf("evidence lacks %q:\n%s", e, strings.Join(v.Evidence, "\n"))
				}
			}
			if !hasEvidence(v, "advisory data as of") {
				t.Error("evidence lacks the data's as-of date")
			}
			if v.Exception != "" {
				t.Errorf("exception %q without exceptions", v.Exception)
			}
		})
	}
}

func TestM2UWIMAPNoData(t *testing.T) {
	// UW-IMAP has no advisories in the shipped selection: unknown, never pass.
	v := m2(fps("imap greeting|* OK mx IMAP4rev1 2007f.404 at Mon, 2 Nov 2009"), advisory.Default(), nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Unknown {
		t.Fatalf("%s: %s", v.Outcome, v.Reason)
	}
}

// completeDB marks products complete in a copy of the shipped data.
func completeDB(products ...string) *advisory.DB {
	db := advisory.Default().Clone()
	for i := range db.Products {
		for _, p := range products {
			if db.Products[i].Name == p {
				db.Products[i].Complete = true
			}
		}
	}
	return db
}

func TestM2PassOnlyWithCompleteData(t *testing.T) {
	db := completeDB("Postfix", "Dovecot")
	v := m2(fps("smtp greeting|220 mx ESMTP Postfix (3.9.14)", "imap id|name=Dovecot version=2.3.21"), db, nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Pass {
		t.Fatalf("outcome %s: %s", v.Outcome, v.Reason)
	}
	// The same versions with data that is only a selection: unknown.
	v = m2(fps("smtp greeting|220 mx ESMTP Postfix (3.9.14)", "imap id|name=Dovecot version=2.3.21"), advisory.Default(), nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Unknown {
		t.Fatalf("selection data: outcome %s", v.Outcome)
	}
	// Complete data, but one service hides its version: unknown.
	v = m2(fps("smtp greeting|220 mx ESMTP Postfix (3.9.14)", "pop3 greeting|+OK Dovecot ready."), db, nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Unknown {
		t.Fatalf("hidden version: outcome %s", v.Outcome)
	}
	// Complete data and an old line: fail on end of life.
	v = m2(fps("smtp greeting|220 mx ESMTP Postfix (3.7.11)"), db, nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "EOL:Postfix:3.7") {
		t.Fatalf("3.7 line: %s %s", v.Outcome, v.Reason)
	}
	// A version below the newest fix of its line: fail.
	v = m2(fps("smtp greeting|220 mx ESMTP Postfix (3.8.3)"), db, nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "CVE-2023-51764") {
		t.Fatalf("3.8.3: %s %s", v.Outcome, v.Reason)
	}
	v = m2(fps("smtp greeting|220 mx ESMTP Postfix (3.8.20)"), db, nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Pass {
		t.Fatalf("3.8.20: %s %s", v.Outcome, v.Reason)
	}
}

func TestM2Exceptions(t *testing.T) {
	db := advisory.Default()
	exim := fps("smtp greeting|220 mx ESMTP Exim 4.96 #2 Mon, 02 Nov 2026 09:00:00 +0900")
	all := mustExc(t, `
exceptions:
  - server: mx-01
    advisories: [CVE-2023-42115, CVE-2023-51766, "EOL:Exim:4.96"]
    justification: Debian 4.96-15+deb12u7 verified on the host, ticket 4711
    expires: 2027-03-31
`)
	// Every finding excepted: judged as if they were absent — on data
	// that is only a selection for Exim, the version cannot be proven
	// patched (an exception never lifts M2 above what the data proves).
	v := m2(exim, db, all, "mx-01", "192.0.2.10", asOf, DefaultPolicy())
	if v.Outcome != scoring.Unknown || v.Exception == "" || !strings.Contains(v.Reason, "removed by exception") ||
		!strings.Contains(v.Reason, "CVE-2023-42115") || !strings.Contains(v.Reason, "selection, not complete") {
		t.Fatalf("all covered, selection data: %s %q %s", v.Outcome, v.Exception, v.Reason)
	}
	// The same on data complete for Exim: the remaining evidence proves
	// it, and the reason names the excepted findings.
	complete := completeDB("Exim")
	v = m2(exim, complete, all, "mx-01", "192.0.2.10", asOf, DefaultPolicy())
	if v.Outcome != scoring.Pass || v.Exception == "" || !strings.Contains(v.Reason, "removed by exception: 192.0.2.10:25 smtp Exim 4.96: CVE-2023-42115, CVE-2023-51766, EOL:Exim:4.96") {
		t.Fatalf("all covered, complete data: %s %q %s", v.Outcome, v.Exception, v.Reason)
	}
	// Another server: the exception does not apply.
	v = m2(exim, db, all, "mx-02", "192.0.2.11", asOf, DefaultPolicy())
	if v.Outcome != scoring.Fail {
		t.Fatalf("other server: %s", v.Outcome)
	}
	// By host.
	byHost := mustExc(t, `
- host: 192.0.2.10
  advisories: [CVE-2023-42115, CVE-2023-51766, EOL:Exim:4.96]
  justification: backport
  expires: 2027-01-01
`)
	if v := m2(exim, complete, byHost, "", "192.0.2.10", asOf, DefaultPolicy()); v.Outcome != scoring.Pass {
		t.Fatalf("by host: %s", v.Outcome)
	}
	// Never covers an advisory it does not name.
	partial := mustExc(t, `
exceptions:
  - server: mx-01
    advisories: [CVE-2023-42115]
    justification: backport of the EXTERNAL fix verified
    expires: 2027-03-31
`)
	v = m2(exim, db, partial, "mx-01", "", asOf, DefaultPolicy())
	failing, excepted, _ := strings.Cut(v.Reason, "removed by exception")
	if v.Outcome != scoring.Fail || strings.Contains(failing, "CVE-2023-42115") || !strings.Contains(failing, "CVE-2023-51766") ||
		!strings.Contains(excepted, "CVE-2023-42115") || v.Exception == "" {
		t.Fatalf("partial: %s %q %s", v.Outcome, v.Exception, v.Reason)
	}
	if !hasEvidence(v, "CVE-2023-42115") || !hasEvidence(v, "[removed by exception]") {
		t.Errorf("partial evidence: %q", v.Evidence)
	}
	// Expired: ignored and reported.
	expired := mustExc(t, `
exceptions:
  - server: mx-01
    advisories: [CVE-2023-42115, CVE-2023-51766, EOL:Exim:4.96]
    justification: old ticket
    expires: 2026-10-31
`)
	v = m2(exim, db, expired, "mx-01", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Fail || !hasEvidence(v, "expired exception ignored") {
		t.Fatalf("expired: %s %q", v.Outcome, v.Evidence)
	}
	if got := expired.Expired(asOf); len(got) != 1 {
		t.Errorf("Expired() = %d", len(got))
	}
	// In force through its expiry date.
	lastDay := mustExc(t, `
exceptions:
  - server: mx-01
    advisories: [CVE-2023-42115, CVE-2023-51766, EOL:Exim:4.96]
    justification: t
    expires: 2026-11-01
`)
	if v := m2(exim, complete, lastDay, "mx-01", "", asOf.Add(23*time.Hour), DefaultPolicy()); v.Outcome != scoring.Pass {
		t.Fatalf("on the expiry day: %s", v.Outcome)
	}
	if v := m2(exim, complete, lastDay, "mx-01", "", asOf.Add(24*time.Hour), DefaultPolicy()); v.Outcome != scoring.Fail {
		t.Fatalf("the day after expiry: %s", v.Outcome)
	}
	// An exception cannot make a hidden version pass.
	hidden := fps("smtp greeting|220 mx ESMTP Postfix (Debian/GNU)")
	if v := m2(hidden, complete, all, "mx-01", "", asOf, DefaultPolicy()); v.Outcome != scoring.Unknown {
		t.Fatalf("hidden with exception: %s", v.Outcome)
	}
}

func TestM1(t *testing.T) {
	db := advisory.Default()
	cases := []struct {
		name   string
		fps    []observe.Fingerprint
		at     time.Time
		want   scoring.Outcome
		reason []string
	}{
		{"debian 12 before regreSSHion fix", fps("ssh identification|SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2"), asOf, scoring.Fail, []string{"CVE-2024-6387", "1:9.2p1-2+deb12u3"}},
		{"debian 12 current", fps("ssh identification|SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7"), asOf, scoring.Unknown, []string{"Debian 12 (bookworm) is supported until 2028-06-30", "declaration decides"}},
		{"debian 12 original package", fps("ssh identification|SSH-2.0-OpenSSH_9.2p1 Debian-2"), asOf, scoring.Fail, []string{"CVE-2024-6387"}},
		{"debian 9 eol", fps("ssh identification|SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7"), asOf, scoring.Fail, []string{"EOL:debian:9", "2022-07-01"}},
		{"debian 11 on last lts day", fps("ssh identification|SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3"), time.Date(2026, 8, 31, 12, 0, 0, 0, time.UTC), scoring.Unknown, []string{"supported until 2026-08-31"}},
		{"debian 11 after lts", fps("ssh identification|SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3"), time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), scoring.Fail, []string{"EOL:debian:11"}},
		{"ubuntu 20.04 standard support ended", fps("ssh identification|SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11"), asOf, scoring.Fail, []string{"EOL:ubuntu:20.04", "Ubuntu Pro"}},
		{"ubuntu 22.04 old package", fps("ssh identification|SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.5"), asOf, scoring.Fail, []string{"CVE-2024-6387", "1:8.9p1-3ubuntu0.10"}},
		{"ubuntu 22.04 fixed package", fps("ssh identification|SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.13"), asOf, scoring.Unknown, []string{"Ubuntu 22.04"}},
		{"ubuntu 24.04 before 26466 fix", fps("ssh identification|SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"), asOf, scoring.Fail, []string{"CVE-2025-26466"}},
		{"ubuntu 21.04 or 21.10", fps("ssh identification|SSH-2.0-OpenSSH_8.4p1 Ubuntu-6ubuntu2.1"), asOf, scoring.Fail, []string{"EOL:ubuntu:21.10"}},
		{"windows 2003 via iis", fps("smtp greeting|220 mx Microsoft ESMTP MAIL Service, Version: 6.0.3790.3959 ready at  Mon, 2 Nov 2009"), asOf, scoring.Fail, []string{"EOL:windows:2003", "2015-07-14"}},
		{"windows 2016 via iis", fps("smtp greeting|220 mx Microsoft ESMTP MAIL Service, Version: 10.0.14393.4169 ready at  Mon, 2 Nov 2026"), asOf, scoring.Unknown, []string{"Windows Server 2016 is supported until 2027-01-12"}},
		{"cyrus el5", fps("imap greeting|* OK mx Cyrus IMAP v2.3.7-Invoca-RPM-2.3.7-7.el5 server ready"), asOf, scoring.Fail, []string{"EOL:el:5"}},
		{"sendmail debian 12 marker", fps("smtp greeting|220 mx ESMTP Sendmail 8.17.1.9/8.17.1.9/Debian-2+deb12u2; Sun, 1 Nov 2026"), asOf, scoring.Unknown, []string{"Debian 12"}},
		{"sendmail ubuntu unfixed is no M1 finding", fps("smtp greeting|220 mx ESMTP Sendmail 8.15.2/8.15.2/Debian-22ubuntu3; Mon"), asOf, scoring.Unknown, []string{"Ubuntu 22.04"}},
		{"telnet centos 6", fps("telnet greeting|CentOS release 6.10 (Final)\nKernel 2.6.32-754.el6.x86_64 on an x86_64"), asOf, scoring.Fail, []string{"EOL:centos:6"}},
		{"rhel no marker", fps("ssh identification|SSH-2.0-OpenSSH_7.4", "smtp greeting|220 mx ESMTP Postfix"), asOf, scoring.Unknown, []string{"no banner shows the operating system"}},
		{"freebsd", fps("ssh identification|SSH-2.0-OpenSSH_9.5 FreeBSD-20231004"), asOf, scoring.Unknown, []string{"declaration decides"}},
		{"nothing", nil, asOf, scoring.Unknown, []string{"no banner"}},
		{"debian 12 and old exim package via DSA data", fps("ssh identification|SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"), asOf, scoring.Unknown, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := M1OSPatches(c.fps, db, nil, "mx-01", "192.0.2.10", c.at, DefaultPolicy())
			if v.Outcome != c.want {
				t.Fatalf("outcome %s, want %s: %s\n%s", v.Outcome, c.want, v.Reason, strings.Join(v.Evidence, "\n"))
			}
			for _, r := range c.reason {
				if !strings.Contains(v.Reason, r) && !hasEvidence(v, r) {
					t.Errorf("reason lacks %q: %s\n%s", r, v.Reason, strings.Join(v.Evidence, "\n"))
				}
			}
			if !hasEvidence(v, "advisory data as of") {
				t.Error("no as-of evidence")
			}
			if v.Outcome == scoring.Pass {
				t.Error("M1 passed without an exception")
			}
		})
	}
}

func TestM1Exceptions(t *testing.T) {
	db := advisory.Default()
	focal := fps("ssh identification|SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11")
	esm := mustExc(t, `
exceptions:
  - server: mx-01
    advisories: ["EOL:ubuntu:20.04"]
    justification: Ubuntu Pro subscription, contract 12345
    expires: 2027-06-30
`)
	// The exception removes the end-of-life finding; what remains cannot
	// prove the OS patched: unknown (the declaration decides), never
	// pass, and the reason names what was excepted.
	v := M1OSPatches(focal, db, esm, "mx-01", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Unknown || !strings.Contains(v.Exception, "Ubuntu Pro") ||
		!strings.Contains(v.Reason, "removed by exception: EOL:ubuntu:20.04") || !strings.Contains(v.Reason, "declaration decides") {
		t.Fatalf("ESM exception: %s %q %s", v.Outcome, v.Exception, v.Reason)
	}
	if !hasEvidence(v, "EOL:ubuntu:20.04") || !hasEvidence(v, "[removed by exception]") {
		t.Errorf("evidence %q", v.Evidence)
	}
	// With a declaration the office vouches for the patches.
	if c := scoring.Combine(v, scoring.Pass); c.Outcome != scoring.Pass || c.Source != scoring.FromDeclared {
		t.Fatalf("declared pass on top: %+v", c)
	}
	jammyOld := fps("ssh identification|SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.5")
	if v := M1OSPatches(jammyOld, db, esm, "mx-01", "", asOf, DefaultPolicy()); v.Outcome != scoring.Fail {
		t.Fatalf("exception for another finding covered CVE-2024-6387: %s", v.Outcome)
	}
}

func TestDataAsOfInEvidence(t *testing.T) {
	v := m2(fps("smtp greeting|220 mx ESMTP Exim 4.99.1"), advisory.Default(), nil, "", "", asOf, DefaultPolicy())
	if !hasEvidence(v, "advisory data as of "+advisory.Default().AsOf.String()) {
		t.Fatal(v.Evidence)
	}
}

func TestM2CompleteNeedsSupportedRelease(t *testing.T) {
	// A small complete data set of its own: the shipped Cyrus data has
	// advisories without Debian 12 entries, which leave a Debian 12
	// package undecidable whatever its release.
	db := completeDB("Cyrus", "Sendmail")
	db.Advisories = []advisory.Advisory{{ID: "CVE-TEST-1", Product: "Cyrus", Remote: true, Source: "test",
		Affected: []advisory.Range{{Introduced: "3.6", Fixed: "3.6.2"}}, Fixed: []string{"3.6.2"},
		Distro: []advisory.DistroFix{{Distro: "debian", Release: "12", Package: "cyrus-imapd", Fixed: "3.6.1-4+deb12u1"}}}}
	// A package on an end-of-life release is maintained by no one.
	v := m2(fps("imap greeting|* OK mx Cyrus IMAP v2.3.7-Invoca-RPM-2.3.7-7.el5 server ready"), db, nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "end of life") {
		t.Fatalf("el5: %s %s", v.Outcome, v.Reason)
	}
	// The same on a supported release passes with complete data.
	v = m2(fps("imap greeting|* OK mx Cyrus IMAP v3.6.1-Debian-3.6.1-4+deb12u1 server ready"), db, nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Pass {
		t.Fatalf("debian 12: %s %s", v.Outcome, v.Reason)
	}
	// Release unknown: unknown.
	v = m2(fps("imap greeting|* OK mx Cyrus IMAP v3.6.1-Debian-3.6.1-4 server ready"), db, nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Unknown {
		t.Fatalf("no release: %s %s", v.Outcome, v.Reason)
	}
	// Exchange 2003 recognised from IIS SMTP and XEXCH50.
	v = m2(fps("smtp greeting|220 mx Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready at  Mon, 2 Nov 2009", "smtp ehlo|250-mx Hello [192.0.2.1]\n250-XEXCH50\n250 OK"), advisory.Default(), nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "EOL:Microsoft Exchange:2003") {
		t.Fatalf("exchange 2003: %s %s", v.Outcome, v.Reason)
	}
}

// TestM2EveryMailServiceNeedsVersion: one versioned banner is not enough;
// every mail service the inventory lists, or that answered, must show
// its version, whatever address it sits on.
func TestM2EveryMailServiceNeedsVersion(t *testing.T) {
	db := completeDB("Postfix")
	smtpFP := fps("smtp greeting|220 mx ESMTP Postfix (3.9.14)")
	base := answered(smtpFP)
	if v := M2MailSoftwarePatches(smtpFP, base, db, nil, "", "", asOf, DefaultPolicy()); v.Outcome != scoring.Pass {
		t.Fatalf("one versioned service alone: %s %s", v.Outcome, v.Reason)
	}
	svc := func(name, addr string, port int, listed bool, st observe.ServiceState) observe.Service {
		return observe.Service{Service: name, Address: addr, Port: port, Listed: listed, State: st}
	}
	for _, c := range []struct {
		name string
		add  observe.Service
		want scoring.Outcome
		why  string
	}{
		{"listed imap silent", svc("imap", "192.0.2.10", 143, true, observe.StateNoAnswer), scoring.Unknown, "192.0.2.10:143 imap: listed but did not answer"},
		{"answering imaps without banner (TLS failed)", svc("imaps", "192.0.2.10", 993, false, observe.StateAnswered), scoring.Unknown, "192.0.2.10:993 imaps: answered but showed no banner"},
		{"smtp on a second address down", svc("smtp", "192.0.2.11", 25, true, observe.StateNoAnswer), scoring.Unknown, "192.0.2.11:25 smtp: listed but did not answer"},
		{"submission not probed", svc("submission", "192.0.2.10", 587, true, observe.StateNotProbed), scoring.Unknown, "not probed"},
		{"second address out of scope", svc("smtp", "192.0.2.12", 25, true, observe.StateOutOfScope), scoring.Unknown, "outside the scope"},
		{"ssh silent is not a mail service", svc("ssh", "192.0.2.10", 22, true, observe.StateNoAnswer), scoring.Pass, ""},
		{"discovered pop3 not answering", svc("pop3", "192.0.2.10", 110, false, observe.StateNoAnswer), scoring.Pass, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := M2MailSoftwarePatches(smtpFP, append(append([]observe.Service(nil), base...), c.add), db, nil, "", "", asOf, DefaultPolicy())
			if v.Outcome != c.want || !strings.Contains(v.Reason, c.why) {
				t.Fatalf("%s: %s", v.Outcome, v.Reason)
			}
		})
	}
	// A silent mail service alone, no banner at all: unknown with the reason.
	v := M2MailSoftwarePatches(nil, []observe.Service{svc("smtp", "192.0.2.10", 25, true, observe.StateNoAnswer)}, db, nil, "", "", asOf, DefaultPolicy())
	if v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "listed but did not answer") {
		t.Fatalf("silent only: %s %s", v.Outcome, v.Reason)
	}
}
