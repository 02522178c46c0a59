package fingerprint

import (
	"regexp"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

var (
	imapStatus   = regexp.MustCompile(`^\*\s+(?:OK|PREAUTH|BYE)\s*`)
	respCode     = regexp.MustCompile(`^\[[^\]]*\]\s*`)
	dovecotRe    = regexp.MustCompile(`\bDovecot\b(?:\s*\(([^)]{1,40})\))?`)
	cyrusRe      = regexp.MustCompile(`\bCyrus (?:IMAP4?|POP3)(?: Murder)?(?:\s+v?(\d[^\s]*))?\s+server ready`)
	cyrusIDRe    = regexp.MustCompile(`^v?(\d+\.\d+(?:\.\d+)*)(.*)$`)
	uwIMAPRe     = regexp.MustCompile(`\bIMAP4rev1 v?(\d{4}[a-z]?(?:\.\d+)?|\d{1,2}\.\d+)(?: at| server ready)`)
	uwPOPRe      = regexp.MustCompile(`^POP3 \S+ v?(\d{4}[a-z]?\.\d+) server ready`)
	exchIMAPRe   = regexp.MustCompile(`Microsoft Exchange(?: Server)?(?: (\d{4}))? (?:IMAP4(?:rev1)?|POP3) (?:server version ([\d.]+)|service ready)`)
	exchNewRe    = regexp.MustCompile(`The Microsoft Exchange (?:IMAP4|POP3) service is ready`)
	qpopperRe    = regexp.MustCompile(`\bQpopper \(version ([\w.]+)\)`)
	dominoIMAPRe = regexp.MustCompile(`\bDomino IMAP4 Server Release ([\w.]+)`)
	notesPOPRe   = regexp.MustCompile(`\bLotus Notes POP3 server version ([\w.]+)`)
	zimbraRe     = regexp.MustCompile(`\bZimbra (?:IMAP4rev1|POP3)`)
	zimbraVer    = regexp.MustCompile(`^(\d+\.\d+\.\d+)`)
)

// imapText strips the status and response code of an IMAP greeting.
func imapText(text string) string {
	t := strings.TrimSpace(firstLine(strings.TrimSpace(text)))
	t = imapStatus.ReplaceAllString(t, "")
	return respCode.ReplaceAllString(t, "")
}

// parseIMAP reads an IMAP greeting.
func parseIMAP(fp *observe.Fingerprint, text string) {
	t := imapText(text)
	if parseMailboxCommon(fp, t) {
		return
	}
	switch {
	case strings.Contains(t, "Courier-IMAP"):
		fp.Product = productCourier
		note(fp, "Courier-IMAP hides its version")
	case uwIMAPRe.MatchString(t):
		fp.Product, fp.Version = productUW, uwIMAPRe.FindStringSubmatch(t)[1]
	case dominoIMAPRe.MatchString(t):
		fp.Product, fp.Version = productDomino, dominoIMAPRe.FindStringSubmatch(t)[1]
	}
}

// parsePOP3 reads a POP3 greeting.
func parsePOP3(fp *observe.Fingerprint, text string) {
	t := strings.TrimSpace(firstLine(strings.TrimSpace(text)))
	t = strings.TrimSpace(strings.TrimPrefix(t, "+OK"))
	if parseMailboxCommon(fp, t) {
		return
	}
	switch {
	case t == "Hello there." || strings.HasPrefix(t, "Hello there. <"):
		fp.Product = productCourier
		note(fp, "\"Hello there.\" is Courier's POP3 greeting; it hides the version")
	case qpopperRe.MatchString(t):
		fp.Product, fp.Version = productQpopper, qpopperRe.FindStringSubmatch(t)[1]
	case uwPOPRe.MatchString(t):
		fp.Product, fp.Version = productUW, uwPOPRe.FindStringSubmatch(t)[1]
		note(fp, "UW ipop3d, part of UW-IMAP")
	case notesPOPRe.MatchString(t):
		fp.Product = productDomino
		note(fp, "Lotus Notes POP3 component version "+notesPOPRe.FindStringSubmatch(t)[1]+" is not the Domino release")
	}
}

// parseMailboxCommon reads the greetings IMAP and POP3 servers word alike.
func parseMailboxCommon(fp *observe.Fingerprint, t string) bool {
	switch {
	case dovecotRe.MatchString(t):
		fp.Product = productDovecot
		if p := strings.TrimSpace(dovecotRe.FindStringSubmatch(t)[1]); p != "" {
			markerDistro(fp, p)
		}
		note(fp, "Dovecot hides its version in the greeting")
	case cyrusRe.MatchString(t):
		fp.Product = productCyrus
		if v := cyrusRe.FindStringSubmatch(t)[1]; v != "" {
			cyrusVersion(fp, v)
		} else {
			note(fp, "Cyrus hides its version")
		}
	case exchIMAPRe.MatchString(t):
		m := exchIMAPRe.FindStringSubmatch(t)
		fp.Product = productExchange
		fp.OS = "Windows Server"
		fp.Version = m[2]
		fp.Line = m[1]
		if fp.Line == "" && fp.Version != "" {
			fp.Line = exchangeLine(fp.Version)
		}
		if fp.Version == "" {
			note(fp, "Exchange "+fp.Line+" names its release but no build number")
		}
	case exchNewRe.MatchString(t):
		fp.Product = productExchange
		fp.OS = "Windows Server"
		note(fp, "Exchange 2010 or later: the banner carries no release or build number")
	case zimbraRe.MatchString(t):
		fp.Product = productZimbra
		note(fp, "Zimbra hides its version in the greeting")
	case mdaemonRe.MatchString(t):
		fp.Product, fp.Version = productMDaemon, mdaemonRe.FindStringSubmatch(t)[1]
	case kerioRe.MatchString(t):
		fp.Product, fp.Version = productKerio, kerioRe.FindStringSubmatch(t)[1]
	case cgpRe.MatchString(t):
		fp.Product, fp.Version = productCommunigate, cgpRe.FindStringSubmatch(t)[1]
	case strings.Contains(t, "hMailServer"):
		fp.Product = productHMail
	default:
		return false
	}
	return true
}

// markerDistro reads a parenthesised distribution marker ("Debian",
// "Ubuntu", "Raspbian").
func markerDistro(fp *observe.Fingerprint, p string) {
	switch {
	case strings.HasPrefix(p, "Debian"):
		fp.Distro, fp.OS = "debian", "Debian"
	case strings.HasPrefix(p, "Ubuntu"):
		fp.Distro, fp.OS = "ubuntu", "Ubuntu"
	case strings.HasPrefix(p, "Raspbian"):
		fp.Distro, fp.OS = "raspbian", "Raspbian"
	default:
		note(fp, "marker "+p)
	}
}

// cyrusVersion reads a Cyrus version string with its packaging tag:
// 2.3.7-Invoca-RPM-2.3.7-7.el5, 2.2.13-Debian-2.2.13-14+lenny3.
func cyrusVersion(fp *observe.Fingerprint, v string) {
	m := cyrusIDRe.FindStringSubmatch(v)
	if m == nil {
		note(fp, "unreadable Cyrus version "+v)
		return
	}
	fp.Version = m[1]
	rest := m[2]
	if i := strings.Index(rest, "-Debian-"); i >= 0 {
		pkg := rest[i+len("-Debian-"):]
		if pkgVersion.MatchString(pkg) {
			fp.PackageVersion = pkg
			rev := pkg
			if j := strings.LastIndexByte(pkg, '-'); j >= 0 {
				rev = pkg[j+1:]
			}
			setDebianFamily(fp, productCyrus, m[1], rev)
		}
		return
	}
	if i := strings.Index(rest, "RPM-"); i >= 0 {
		pkg := rest[i+len("RPM-"):]
		if setEL(fp, pkg) {
			fp.PackageVersion = pkg
		}
		return
	}
	if rest != "" {
		note(fp, "Cyrus build tag "+strings.TrimPrefix(rest, "-"))
	}
}

// exchangeLine maps an Exchange build number to its release line.
func exchangeLine(build string) string {
	parts := strings.SplitN(build, ".", 3)
	if len(parts) < 2 {
		return ""
	}
	switch parts[0] {
	case "5":
		return "5." + parts[1]
	case "6":
		if parts[1] == "5" {
			return "2003"
		}
		return "2000"
	case "8":
		return "2007"
	case "14":
		return "2010"
	case "15":
		switch parts[1] {
		case "0":
			return "2013"
		case "1":
			return "2016"
		case "2":
			return "2019"
		}
	}
	return ""
}

// parseIMAPID reads an IMAP ID answer as the IMAP probe renders it
// ("name=Dovecot version=2.3.19.1 os=Linux").
func parseIMAPID(fp *observe.Fingerprint, text string) {
	fields := map[string]string{}
	keys := []string{"name", "version", "os", "os-version", "vendor", "support-url", "address", "date", "command", "arguments", "environment"}
	t := strings.TrimSpace(text)
	// Values may contain spaces: split at the known keys.
	type pos struct {
		key   string
		start int
	}
	var ps []pos
	for _, k := range keys {
		for off := 0; off < len(t); {
			i := strings.Index(t[off:], k+"=")
			if i < 0 {
				break
			}
			i += off
			if i == 0 || t[i-1] == ' ' {
				ps = append(ps, pos{k, i})
			}
			off = i + len(k) + 1
		}
	}
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			if ps[j].start < ps[i].start {
				ps[i], ps[j] = ps[j], ps[i]
			}
		}
	}
	for i, p := range ps {
		end := len(t)
		if i+1 < len(ps) {
			end = ps[i+1].start
		}
		start := p.start + len(p.key) + 1
		if start > end {
			continue
		}
		if _, dup := fields[p.key]; !dup {
			fields[p.key] = strings.TrimSpace(t[start:end])
		}
	}
	name := strings.ToLower(fields["name"])
	ver := fields["version"]
	switch {
	case strings.Contains(name, "dovecot"):
		fp.Product = productDovecot
		if v := firstField(ver); versionLike.MatchString(v) {
			fp.Version = v
		}
	case strings.Contains(name, "cyrus"):
		fp.Product = productCyrus
		if v := firstField(ver); v != "" {
			cyrusVersion(fp, v)
		}
	case strings.Contains(name, "zimbra"):
		fp.Product = productZimbra
		if m := zimbraVer.FindStringSubmatch(ver); m != nil {
			fp.Version = m[1]
		}
	case strings.Contains(name, "courier"):
		fp.Product = productCourier
	case strings.Contains(name, "exchange"):
		fp.Product = productExchange
	case name != "":
		note(fp, "IMAP ID names "+clip(fields["name"], 60))
	}
	if os := fields["os"]; os != "" && fp.OS == "" {
		fp.OS = clip(os, 60)
		if v := fields["os-version"]; v != "" {
			fp.OS += " " + clip(v, 60)
		}
	}
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

var (
	implCyrus   = regexp.MustCompile(`\bCyrus (?:POP3|IMAP4?)\s+v?(\d\S*)`)
	implQpopper = regexp.MustCompile(`\bQpopper[- ]version[- ]([\w.]+)`)
)

// parseImplementation reads a POP3 CAPA IMPLEMENTATION value (RFC 2449).
func parseImplementation(fp *observe.Fingerprint, text string) {
	t := strings.TrimSpace(firstLine(text))
	switch {
	case implCyrus.MatchString(t):
		fp.Product = productCyrus
		cyrusVersion(fp, implCyrus.FindStringSubmatch(t)[1])
	case implQpopper.MatchString(t):
		fp.Product, fp.Version = productQpopper, implQpopper.FindStringSubmatch(t)[1]
	case strings.Contains(t, "Courier"):
		fp.Product = productCourier
	case strings.Contains(t, "Dovecot"):
		fp.Product = productDovecot
	case strings.Contains(t, "Zimbra"):
		fp.Product = productZimbra
	default:
		parseMailboxCommon(fp, t)
	}
}
