// Package banners is a catalogue of realistic banner sets for the
// simulated fleet: the SMTP greeting, IMAP greeting, POP3 greeting and SSH
// identification one server shows, current and old versions, hidden
// versions and distribution suffixes. Each set carries the M1 and M2
// outcomes expected at the pinned evaluation date AsOf with kensa's
// shipped advisory data, derived by the reasoning written in its
// description (from the data's entries and end-of-life dates), not by
// calling the rules, so that a test comparing scan and truth can fail.
//
// No product is marked complete in the shipped data (it is a selection of
// well-known advisories), so M2 can never pass by probe with it: at best
// a fully visible, unaffected version is unknown, and a declaration
// decides. M2Complete gives the outcome expected when the data of every
// mail product the set shows (its Mail list) that the shipped data has
// advisories of is marked complete in a copy of the shipped data (a
// product without any cannot be vouched for), as an office that imports
// a full NVD or OSV feed and vouches for it would do
// (advisory.DB.MarkComplete, or `kensa advisories import … --complete
// PRODUCT`); the pass sets are the ones whose M2Complete is pass.
// Completeness changes only unknown into pass: findings fail whatever is
// complete.
//
// The demo's data marks Postfix and Cyrus complete (DemoComplete). For a
// set whose mail products are all among them, M2Complete is also its
// outcome with the demo's data; for other sets M2With says what can be
// said. The sets made for the demo show Postfix 3.10.13 and Cyrus IMAP
// 3.12.3, the newest releases of their lines verified for this catalogue
// (Postfix 2026-08-11, Cyrus 2026-07-15): "postfix-cyrus-current",
// "postfix-current-smtp-only" and "postfix-cyrus-eol-os" pass M2 with the
// demo's data; "postfix-outdated" and "postfix-cyrus-outdated" fail it.
//
// Fields hold what the fleet servers' banner options take: the SMTP
// greeting text after "220 " ("{host}" is replaced by the server's name),
// the IMAP greeting text after "* OK [CAPABILITY …] ", the POP3 greeting
// text after "+OK ", and the SSH identification's software part after
// "SSH-2.0-". An empty field means the set has no such service.
package banners

import (
	"strings"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// AsOf is the evaluation date the expected outcomes hold at.
const AsOf = "2026-11-01"

// Set is the banners of one simulated server and its expected outcomes.
type Set struct {
	Name        string
	Description string
	SMTP        string
	IMAP        string
	POP3        string
	SSH         string
	// M1 and M2 are the outcomes expected at AsOf with the shipped data.
	M1, M2 scoring.Outcome
	// M2Complete is the M2 outcome expected when the data of every mail
	// product the set shows (Mail) that the shipped data has advisories
	// of is marked complete.
	M2Complete scoring.Outcome
	// Mail lists the canonical products of the set's SMTP, IMAP and POP3
	// banners, as fingerprints name them ("" entries never: a banner that
	// names no product adds nothing).
	Mail []string
}

// DemoComplete are the products whose advisory data the demo marks
// complete: advisory.Default().Clone() with MarkComplete(DemoComplete...).
var DemoComplete = []string{"Postfix", "Cyrus"}

// M2With returns the M2 outcome expected when exactly the named products
// are marked complete in a copy of the shipped data: M2Complete when
// every mail product of the set is among them, M2 when none is, and for
// a partial overlap the common outcome when M2 and M2Complete agree
// (marking a product complete only turns that product's unknown into
// pass, so the outcome lies between them). ok is false when the outcome
// cannot be told from the written truth.
func (s Set) M2With(complete ...string) (o scoring.Outcome, ok bool) {
	in := 0
	for _, p := range s.Mail {
		for _, c := range complete {
			if p == c {
				in++
				break
			}
		}
	}
	switch {
	case in == len(s.Mail):
		return s.M2Complete, true
	case in == 0:
		return s.M2, true
	case s.M2 == s.M2Complete:
		return s.M2, true
	}
	return "", false
}

// Banners renders the set as a probe records it, for a server at address
// named host.
func (s Set) Banners(address, host string) []observe.Banner {
	var out []observe.Banner
	add := func(service string, port int, kind, text string) {
		out = append(out, observe.Banner{Service: service, Address: address, Port: port, Kind: kind, Text: text})
	}
	if s.SMTP != "" {
		add("smtp", 25, "greeting", "220 "+strings.ReplaceAll(s.SMTP, "{host}", host))
	}
	if s.IMAP != "" {
		add("imap", 143, "greeting", "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] "+strings.ReplaceAll(s.IMAP, "{host}", host))
	}
	if s.POP3 != "" {
		add("pop3", 110, "greeting", "+OK "+strings.ReplaceAll(s.POP3, "{host}", host))
	}
	if s.SSH != "" {
		add("ssh", 22, "identification", "SSH-2.0-"+s.SSH)
	}
	return out
}

// ByName returns the set with a name.
func ByName(name string) (Set, bool) {
	for _, s := range Catalogue() {
		if s.Name == name {
			return s, true
		}
	}
	return Set{}, false
}

const (
	pass    = scoring.Pass
	fail    = scoring.Fail
	unknown = scoring.Unknown
)

// Catalogue returns every banner set.
func Catalogue() []Set {
	return []Set{
		{
			Name: "debian12-current",
			Description: "Debian 12 with Postfix and Dovecot as Debian ships them (versions hidden behind the Debian markers) and OpenSSH 1:9.2p1-2+deb12u7. " +
				"M1 unknown: Debian 12 LTS runs to 2028-06-30, deb12u7 is at or above the CVE-2024-6387 fix 1:9.2p1-2+deb12u3 (DSA-5724-1), and 9.2p1 is outside CVE-2025-26466's 9.5p1–9.9p1; a banner cannot prove the rest. " +
				"M2 unknown: every mail version is hidden.",
			SMTP: "{host} ESMTP Postfix (Debian/GNU)", IMAP: "Dovecot (Debian) ready.", POP3: "Dovecot (Debian) ready.", SSH: "OpenSSH_9.2p1 Debian-2+deb12u7",
			M1: unknown, M2: unknown, M2Complete: unknown,
			Mail: []string{"Postfix", "Dovecot"},
		},
		{
			Name: "debian12-regresshion",
			Description: "Debian 12 whose OpenSSH 1:9.2p1-2+deb12u2 predates DSA-5724-1. " +
				"M1 fail: the package is older than the CVE-2024-6387 fix 1:9.2p1-2+deb12u3 for Debian 12. M2 unknown: Postfix and Dovecot hide their versions.",
			SMTP: "{host} ESMTP Postfix (Debian/GNU)", IMAP: "Dovecot (Debian) ready.", SSH: "OpenSSH_9.2p1 Debian-2+deb12u2",
			M1: fail, M2: unknown, M2Complete: unknown,
			Mail: []string{"Postfix", "Dovecot"},
		},
		{
			Name: "ubuntu2204-regresshion",
			Description: "Ubuntu 22.04 with OpenSSH 1:8.9p1-3ubuntu0.6 (OpenSSH 8.9p1 is 22.04's). " +
				"M1 fail: older than USN-6859-1's 1:8.9p1-3ubuntu0.10 (CVE-2024-6387); 22.04 itself is supported to 2027-04-01. M2 unknown: hidden versions.",
			SMTP: "{host} ESMTP Postfix (Ubuntu)", IMAP: "Dovecot (Ubuntu) ready.", POP3: "Dovecot (Ubuntu) ready.", SSH: "OpenSSH_8.9p1 Ubuntu-3ubuntu0.6",
			M1: fail, M2: unknown, M2Complete: unknown,
			Mail: []string{"Postfix", "Dovecot"},
		},
		{
			Name: "ubuntu2204-current",
			Description: "Ubuntu 22.04 with OpenSSH 1:8.9p1-3ubuntu0.13. " +
				"M1 unknown: 22.04 standard support runs to 2027-04-01, the package is at or above USN-6859-1's fix, and 8.9p1 is outside CVE-2025-26466's range. M2 unknown: hidden versions.",
			SMTP: "{host} ESMTP Postfix (Ubuntu)", IMAP: "Dovecot (Ubuntu) ready.", SSH: "OpenSSH_8.9p1 Ubuntu-3ubuntu0.13",
			M1: unknown, M2: unknown, M2Complete: unknown,
			Mail: []string{"Postfix", "Dovecot"},
		},
		{
			Name: "ubuntu2404-ping-dos",
			Description: "Ubuntu 24.04 with OpenSSH 1:9.6p1-3ubuntu13.5. " +
				"M1 fail: at or above USN-6859-1's 13.3 but older than USN-7270-1's 1:9.6p1-3ubuntu13.8 (CVE-2025-26466). M2 unknown: hidden versions.",
			SMTP: "{host} ESMTP Postfix (Ubuntu)", SSH: "OpenSSH_9.6p1 Ubuntu-3ubuntu13.5",
			M1: fail, M2: unknown, M2Complete: unknown,
			Mail: []string{"Postfix"},
		},
		{
			Name: "ubuntu2004-eol",
			Description: "Ubuntu 20.04 (OpenSSH 8.2p1) with current packages. " +
				"M1 fail: standard support ended 2025-05-31 (ESM needs a subscription no banner shows; an exception EOL:ubuntu:20.04 can cover it). M2 unknown: hidden versions.",
			SMTP: "{host} ESMTP Postfix (Ubuntu)", IMAP: "Dovecot (Ubuntu) ready.", SSH: "OpenSSH_8.2p1 Ubuntu-4ubuntu0.12",
			M1: fail, M2: unknown, M2Complete: unknown,
			Mail: []string{"Postfix", "Dovecot"},
		},
		{
			Name: "ubuntu21-ambiguous-eol",
			Description: "OpenSSH 8.4p1 with an Ubuntu revision: Ubuntu 21.04 or 21.10. " +
				"M1 fail: both ended (2022-01-20 and 2022-07-14). M2 unknown: hidden versions.",
			SMTP: "{host} ESMTP Postfix (Ubuntu)", SSH: "OpenSSH_8.4p1 Ubuntu-6ubuntu2.1",
			M1: fail, M2: unknown, M2Complete: unknown,
			Mail: []string{"Postfix"},
		},
		{
			Name: "debian9-exim-4.89",
			Description: "Debian 9 with Exim 4.89 (Exim shows no distribution marker). " +
				"M1 fail: Debian 9 LTS ended 2022-07-01. M2 fail on the upstream version: 4.89 is in the ranges of CVE-2018-6789 (<4.90.1), CVE-2019-10149 (4.87–4.91), CVE-2019-15846 (<4.92.2), CVE-2020-28017 (<4.94.2), CVE-2023-42115 (<4.96.1), CVE-2023-51766 (<4.97.1), and the 4.89 line ended 2017-12-19; Debian's backports would need an exception.",
			SMTP: "{host} ESMTP Exim 4.89 Mon, 02 Nov 2026 09:00:00 +0900", SSH: "OpenSSH_7.4p1 Debian-10+deb9u7",
			M1: fail, M2: fail, M2Complete: fail,
			Mail: []string{"Exim"},
		},
		{
			Name: "debian12-exim-4.96",
			Description: "Debian 12's Exim 4.96 with a current OpenSSH. " +
				"M2 fail on the upstream version: CVE-2023-42115 (<4.96.1) and CVE-2023-51766 (<4.97.1), and the 4.96 line ended 2023-11-04 — Debian patched 4.96-15+deb12uN, which needs an exception because the banner cannot show it. " +
				"M1 unknown: Debian 12 supported, OpenSSH at or above the known fixes.",
			SMTP: "{host} ESMTP Exim 4.96 Mon, 02 Nov 2026 09:00:00 +0900", SSH: "OpenSSH_9.2p1 Debian-2+deb12u7",
			M1: unknown, M2: fail, M2Complete: fail,
			Mail: []string{"Exim"},
		},
		{
			Name: "exim-4.99.3",
			Description: "Exim 4.99.3 alone, with an OpenBSD-style OpenSSH without marker. " +
				"M2 unknown: no shipped advisory covers 4.99.3 and the 4.99 line has no end of life, but Exim's data is a selection; with complete Exim data it passes. M1 unknown: no OS marker.",
			SMTP: "{host} ESMTP Exim 4.99.3 Mon, 02 Nov 2026 09:00:00 +0900", SSH: "OpenSSH_9.9",
			M1: unknown, M2: unknown, M2Complete: pass,
			Mail: []string{"Exim"},
		},
		{
			Name: "postfix-3.10-visible",
			Description: "Postfix 3.10.2 (April 2025) showing its version (mail_name changed), SMTP only, Dropbear for SSH. " +
				"M2 fail on the upstream version, with or without complete data: 3.10.2 is in the ranges of CVE-2026-43964 (3.10 before 3.10.9) and of the 2026 vendor fixes POSTFIX-2026-06-18 (before 3.10.11), POSTFIX-2026-07-07 (before 3.10.12) and POSTFIX-2026-08-11 (before 3.10.13); the 3.10 line itself is supported. M1 unknown: no OS marker.",
			SMTP: "{host} ESMTP Postfix (3.10.2)", SSH: "dropbear_2022.83",
			M1: unknown, M2: fail, M2Complete: fail,
			Mail: []string{"Postfix"},
		},
		{
			Name: "postfix-cyrus-current",
			Description: "Postfix 3.10.13 (2026-08-11, the newest 3.10 release verified) and Cyrus IMAP 3.12.3 (2026-07-15) for IMAP and POP3, built from source and showing their versions; OpenSSH 9.9 without a distribution marker. " +
				"M2 unknown with the shipped selection (no known advisory applies, but the data is not complete); pass with Postfix and Cyrus complete: 3.10.13 is at or above every Postfix fix of its line (CVE-2026-43964 3.10.9, POSTFIX-2026-06-18 3.10.11, POSTFIX-2026-07-07 3.10.12, POSTFIX-2026-08-11 3.10.13) and outside the older ranges, the 3.10 line is supported (Postfix supports 3.8 to 3.11 until 3.12.0); 3.12.3 is at or above every Cyrus fix of its line (CVE-2026-47081 to 47089 3.12.3, CYRUS-ISSUE-5495 3.12.2, CVE-2024-34055 before 3.10.0-rc1) and the 3.12 line is supported to 2028-05-09. M1 unknown: no OS marker.",
			SMTP: "{host} ESMTP Postfix (3.10.13)", IMAP: "{host} Cyrus IMAP 3.12.3 server ready", POP3: "{host} Cyrus POP3 3.12.3 server ready", SSH: "OpenSSH_9.9",
			M1: unknown, M2: unknown, M2Complete: pass,
			Mail: []string{"Postfix", "Cyrus"},
		},
		{
			Name: "postfix-current-smtp-only",
			Description: "A relay without mailboxes: Postfix 3.10.13 showing its version, OpenSSH 9.9 without a distribution marker. " +
				"M2 unknown with the shipped selection; pass with Postfix complete (3.10.13 is at or above every fix of the supported 3.10 line). M1 unknown: no OS marker.",
			SMTP: "{host} ESMTP Postfix (3.10.13)", SSH: "OpenSSH_9.9",
			M1: unknown, M2: unknown, M2Complete: pass,
			Mail: []string{"Postfix"},
		},
		{
			Name: "postfix-outdated",
			Description: "A relay on Postfix 3.5.25 (March 2024), SMTP only, OpenSSH 9.9 without a distribution marker. " +
				"M2 fail on the upstream version, with or without complete data: the 3.5 line ended 2024-03-06 (EOL:Postfix:3.5; the courtesy releases 3.5.26 and 3.5.27 did not restore support), and 3.5.25 is in the ranges of CVE-2026-43964 (before 3.8.16), POSTFIX-2026-07-07 (before 3.5.26) and POSTFIX-2026-08-11 (before 3.5.27). M1 unknown: no OS marker.",
			SMTP: "{host} ESMTP Postfix (3.5.25)", SSH: "OpenSSH_9.9",
			M1: unknown, M2: fail, M2Complete: fail,
			Mail: []string{"Postfix"},
		},
		{
			Name: "postfix-cyrus-outdated",
			Description: "Current Postfix 3.10.13 with Cyrus IMAP 3.10.1 (January 2025) for IMAP and POP3, OpenSSH 9.9 without a distribution marker. " +
				"M2 fail on the upstream version, with or without complete data: Cyrus 3.10.1 is in the ranges of CVE-2026-47081 to CVE-2026-47089 (3.10 before 3.10.3) and of CYRUS-ISSUE-5495 (no fix in the 3.10 line; fixed in 3.12.2); the 3.10 line itself is supported to 2027-08-16. M1 unknown: no OS marker.",
			SMTP: "{host} ESMTP Postfix (3.10.13)", IMAP: "{host} Cyrus IMAP 3.10.1 server ready", POP3: "{host} Cyrus POP3 3.10.1 server ready", SSH: "OpenSSH_9.9",
			M1: unknown, M2: fail, M2Complete: fail,
			Mail: []string{"Postfix", "Cyrus"},
		},
		{
			Name: "postfix-cyrus-eol-os",
			Description: "Current mail software (Postfix 3.10.13, Cyrus IMAP 3.12.3, both showing their versions) on Debian 11, whose OpenSSH 1:8.4p1-5+deb11u3 shows the release. " +
				"M1 fail: Debian 11 LTS ended 2026-08-31 (EOL:debian:11). M2 as postfix-cyrus-current: unknown with the shipped selection, pass with Postfix and Cyrus complete (the mail banners carry no distribution marker, so their upstream versions decide).",
			SMTP: "{host} ESMTP Postfix (3.10.13)", IMAP: "{host} Cyrus IMAP 3.12.3 server ready", POP3: "{host} Cyrus POP3 3.12.3 server ready", SSH: "OpenSSH_8.4p1 Debian-5+deb11u3",
			M1: fail, M2: unknown, M2Complete: pass,
			Mail: []string{"Postfix", "Cyrus"},
		},
		{
			Name: "postfix-2.5.1-lucid",
			Description: "Postfix 2.5.1 with its version visible, on Ubuntu 10.04 (OpenSSH 5.3p1 Debian-3ubuntu7.1). " +
				"M2 fail: CVE-2011-1720 (2.5 before 2.5.13), CVE-2023-51764 (<3.5.23) and the 2.5 line ended 2012-02-06. M1 fail: Ubuntu 10.04 ended 2013-05-09.",
			SMTP: "{host} ESMTP Postfix (2.5.1)", SSH: "OpenSSH_5.3p1 Debian-3ubuntu7.1",
			M1: fail, M2: fail, M2Complete: fail,
			Mail: []string{"Postfix"},
		},
		{
			Name: "sendmail-debian12",
			Description: "Sendmail 8.17.1.9 with the Debian 12 package revision 2+deb12u2. " +
				"M2 unknown: upstream 8.17.1.9 is in CVE-2023-51765's range (<8.18) and the shipped data has no Debian 12 entry for it, so the package's state cannot be decided. M1 unknown: Debian 12 supported and no Sendmail fix for Debian 12 is recorded.",
			SMTP: "{host} ESMTP Sendmail 8.17.1.9/8.17.1.9/Debian-2+deb12u2; Mon, 2 Nov 2026 09:00:00 +0900",
			M1:   unknown, M2: unknown, M2Complete: unknown,
			Mail: []string{"Sendmail"},
		},
		{
			Name: "sendmail-ubuntu2204",
			Description: "Sendmail 8.15.2-22ubuntu3 on Ubuntu 22.04. " +
				"M2 fail: Ubuntu released no fix of CVE-2023-51765 for 22.04 (status affected). M1 unknown: 22.04 supported and an unfixed flaw is no unapplied patch.",
			SMTP: "{host} ESMTP Sendmail 8.15.2/8.15.2/Debian-22ubuntu3; Mon, 2 Nov 2026 09:00:00 +0900",
			M1:   unknown, M2: fail, M2Complete: fail,
			Mail: []string{"Sendmail"},
		},
		{
			Name: "sendmail-8.14-rhel7",
			Description: "Sendmail 8.14.7 and OpenSSH 7.4 as RHEL 7 shows them (no markers). " +
				"M2 fail on the upstream version: CVE-2023-51765 (<8.18) and no Sendmail line before 8.18 got fixes after 2024-01-31; Red Hat's backports would need an exception. M1 unknown: no marker shows the OS.",
			SMTP: "{host} ESMTP Sendmail 8.14.7/8.14.7; Mon, 2 Nov 2026 09:00:00 +0900", SSH: "OpenSSH_7.4",
			M1: unknown, M2: fail, M2Complete: fail,
			Mail: []string{"Sendmail"},
		},
		{
			Name: "sendmail-8.18-freebsd",
			Description: "Sendmail 8.18.1 on FreeBSD (base OpenSSH FreeBSD-20231004). " +
				"M2 unknown with the shipped selection (8.18.1 is outside both Sendmail advisories and its line is current); pass with complete Sendmail data. M1 unknown: the FreeBSD release cannot be derived from the OpenSSH import date.",
			SMTP: "{host} ESMTP Sendmail 8.18.1/8.18.1; Mon, 2 Nov 2026 09:00:00 +0900", SSH: "OpenSSH_9.5 FreeBSD-20231004",
			M1: unknown, M2: unknown, M2Complete: pass,
			Mail: []string{"Sendmail"},
		},
		{
			Name: "iis-smtp-2003",
			Description: "The IIS SMTP service of Windows Server 2003 (build 6.0.3790.3959). " +
				"M1 fail: Windows Server 2003 ended 2015-07-14. M2 fail: the IIS SMTP 6.0 line ends with Windows Server 2003.",
			SMTP: "{host} Microsoft ESMTP MAIL Service, Version: 6.0.3790.3959 ready at  Mon, 2 Nov 2026 09:00:00 +0900 ",
			M1:   fail, M2: fail, M2Complete: fail,
			Mail: []string{"Microsoft SMTP Service (IIS)"},
		},
		{
			Name: "exchange-2003",
			Description: "Exchange 2003 on Windows Server 2003: IIS SMTP 6.0.3790.4675 and Exchange 2003 IMAP/POP3 build 6.5.7638.1. " +
				"M2 fail: Exchange 2003 ended 2014-04-08 and IIS SMTP 6.0 with Windows Server 2003. M1 fail: Windows Server 2003 ended 2015-07-14.",
			SMTP: "{host} Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready at  Mon, 2 Nov 2026 09:00:00 +0900 ",
			IMAP: "Microsoft Exchange Server 2003 IMAP4rev1 server version 6.5.7638.1 ({host}) ready.",
			POP3: "Microsoft Exchange Server 2003 POP3 server version 6.5.7638.1 ({host}) ready.",
			M1:   fail, M2: fail, M2Complete: fail,
			Mail: []string{"Microsoft SMTP Service (IIS)", "Microsoft Exchange"},
		},
		{
			Name: "exchange-2007",
			Description: "Exchange 2007, whose IMAP and POP3 banners name the release but no build. " +
				"M2 fail: Exchange 2007 ended 2017-04-11. M1 unknown: no Windows build shows.",
			SMTP: "{host} Microsoft ESMTP MAIL Service ready at Mon, 2 Nov 2026 09:00:00 +0900",
			IMAP: "Microsoft Exchange Server 2007 IMAP4 service ready",
			POP3: "Microsoft Exchange Server 2007 POP3 service ready",
			M1:   unknown, M2: fail, M2Complete: fail,
			Mail: []string{"Microsoft Exchange"},
		},
		{
			Name: "exchange-2016-or-later",
			Description: "Exchange 2010 or later: no banner shows a release or build. " +
				"M2 unknown: version hidden (Exchange 2016 and 2019 ended 2025-10-14, but the banner cannot tell them from Subscription Edition). M1 unknown.",
			SMTP: "{host} Microsoft ESMTP MAIL Service ready at Mon, 2 Nov 2026 09:00:00 +0900",
			IMAP: "The Microsoft Exchange IMAP4 service is ready.",
			POP3: "The Microsoft Exchange POP3 service is ready.",
			M1:   unknown, M2: unknown, M2Complete: unknown,
			Mail: []string{"Microsoft Exchange"},
		},
		{
			Name: "rhel5-cyrus-sendmail",
			Description: "RHEL 5: Cyrus 2.3.7 with the RPM release 2.3.7-7.el5, Sendmail 8.13.8, OpenSSH 4.3. " +
				"M1 fail: Enterprise Linux 5 (RHEL, CentOS) maintenance ended 2017-03-31. M2 fail: Sendmail 8.13.8 is in CVE-2009-4565 (<8.14.4) and CVE-2023-51765 (<8.18) and its line is past its end of life.",
			SMTP: "{host} ESMTP Sendmail 8.13.8/8.13.8; Mon, 2 Nov 2026 09:00:00 +0900",
			IMAP: "{host} Cyrus IMAP v2.3.7-Invoca-RPM-2.3.7-7.el5 server ready",
			POP3: "{host} Cyrus POP3 v2.3.7-Invoca-RPM-2.3.7-7.el5 server ready",
			SSH:  "OpenSSH_4.3",
			M1:   fail, M2: fail, M2Complete: fail,
			Mail: []string{"Sendmail", "Cyrus"},
		},
		{
			Name: "uw-imap-postfix-2.11",
			Description: "UW-IMAP 2007f (imapd and ipop3d) with Postfix 2.11.3 showing its version. " +
				"M2 fail: Postfix 2.11.3 is in CVE-2023-51764's range (<3.5.23) and the 2.11 line ended 2018-02-21. M1 unknown: no OS marker.",
			SMTP: "{host} ESMTP Postfix (2.11.3)",
			IMAP: "{host} IMAP4rev1 2007f.404 at Mon, 2 Nov 2026 09:00:00 +0900 (JST)",
			POP3: "POP3 {host} v2007f.104 server ready",
			M1:   unknown, M2: fail, M2Complete: fail,
			Mail: []string{"Postfix", "UW-IMAP"},
		},
		{
			Name:        "opensmtpd-openbsd",
			Description: "OpenSMTPD, which never shows its version, on OpenBSD (OpenSSH 9.6 without marker). M2 unknown: version hidden. M1 unknown.",
			SMTP:        "{host} ESMTP OpenSMTPD", SSH: "OpenSSH_9.6",
			M1: unknown, M2: unknown, M2Complete: unknown,
			Mail: []string{"OpenSMTPD"},
		},
		{
			Name:        "raspbian10",
			Description: "A Raspberry Pi on Raspbian 10 (OpenSSH 1:7.9p1-10+deb10u2). M1 fail: Debian 10 LTS ended 2024-06-30. M2 unknown: Postfix hides its version.",
			SMTP:        "{host} ESMTP Postfix (Raspbian)", SSH: "OpenSSH_7.9p1 Raspbian-10+deb10u2",
			M1: fail, M2: unknown, M2Complete: unknown,
			Mail: []string{"Postfix"},
		},
		{
			Name: "dovecot-cyrus-debian-hidden",
			Description: "Debian mail store: Cyrus 3.6.1 with the Debian package 3.6.1-4 (no stable-update marker, so no release) and Dovecot POP3 hidden. " +
				"M2 unknown: Dovecot hides its version and no Cyrus advisory is shipped (data is a selection). M1 unknown: the Debian release is not shown.",
			IMAP: "{host} Cyrus IMAP v3.6.1-Debian-3.6.1-4 server ready", POP3: "Dovecot (Debian) ready.",
			M1: unknown, M2: unknown, M2Complete: unknown,
			Mail: []string{"Cyrus", "Dovecot"},
		},
		{
			Name:        "domino-8.5",
			Description: "Lotus Domino 8.5.3FP6 SMTP and IMAP. M2 unknown: the shipped data has no Domino advisories and no Domino end-of-life dates, so even with Domino marked complete its line cannot be shown supported. M1 unknown.",
			SMTP:        "{host} ESMTP Service (Lotus Domino Release 8.5.3FP6) ready at Mon, 2 Nov 2026 09:00:00 +0900",
			IMAP:        "Domino IMAP4 Server Release 8.5.3FP6 ready Mon, 2 Nov 2026 09:00:00 +0900",
			M1:          unknown, M2: unknown, M2Complete: unknown,
			Mail: []string{"Lotus Domino"},
		},
		{
			Name:        "ssh-only-debian11-after-lts",
			Description: "A server with only SSH: OpenSSH 1:8.4p1-5+deb11u3 on Debian 11. M1 fail: Debian 11 LTS ended 2026-08-31. M2 unknown: no mail banner seen.",
			SSH:         "OpenSSH_8.4p1 Debian-5+deb11u3",
			M1:          fail, M2: unknown, M2Complete: unknown,
			Mail: nil,
		},
	}
}
