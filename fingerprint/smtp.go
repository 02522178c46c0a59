package fingerprint

import (
	"regexp"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

// Canonical product names.
const (
	productPostfix     = "Postfix"
	productSendmail    = "Sendmail"
	productExim        = "Exim"
	productExchange    = "Microsoft Exchange"
	productIIS         = "Microsoft SMTP Service (IIS)"
	productOpenSMTPD   = "OpenSMTPD"
	productQmail       = "qmail"
	productCourier     = "Courier"
	productDovecot     = "Dovecot"
	productCyrus       = "Cyrus"
	productUW          = "UW-IMAP"
	productQpopper     = "Qpopper"
	productZimbra      = "Zimbra"
	productDomino      = "Lotus Domino"
	productOpenSSH     = "OpenSSH"
	productDropbear    = "Dropbear"
	productMDaemon     = "MDaemon"
	productKerio       = "Kerio Connect"
	productHMail       = "hMailServer"
	productCommunigate = "CommuniGate Pro"
)

var (
	smtpCode    = regexp.MustCompile(`^\d{3}[ -]`)
	iisRe       = regexp.MustCompile(`Microsoft ESMTP MAIL Service, Version: (\d+\.\d+\.\d+(?:\.\d+)?)`)
	exch2007Re  = regexp.MustCompile(`Microsoft ESMTP MAIL Service ready`)
	exch55Re    = regexp.MustCompile(`Microsoft Exchange Internet Mail Service (5\.5\.[\d.]+)`)
	sendmailRe  = regexp.MustCompile(`\bSendmail (\d[\w.]*)/(\d[\w.]*)(?:/([^;]*?))?\s*(?:;|ready|$)`)
	eximRe      = regexp.MustCompile(`\bExim (\d+\.\d+(?:\.\d+)*)(?:_\w+)?(?:\s+#(\d+))?`)
	postfixRe   = regexp.MustCompile(`\bPostfix\b(?:\s*\(([^)]{1,40})\))?`)
	dominoRe    = regexp.MustCompile(`\b(?:Lotus|IBM|HCL) Domino Release ([\w.]+)`)
	mdaemonRe   = regexp.MustCompile(`\bMDaemon (?:PRO )?(\d+\.\d+(?:\.\d+)*)`)
	kerioRe     = regexp.MustCompile(`\bKerio (?:Connect|MailServer) (\d+\.\d+(?:\.\d+)*)`)
	cgpRe       = regexp.MustCompile(`\bCommuniGate Pro (?:SMTP|IMAP|POP) (?:Server )?(\d+\.\d+(?:\.\d+)*)`)
	versionLike = regexp.MustCompile(`^\d+\.\d+(?:\.\d+)*$`)
)

// smtpText strips the reply codes of SMTP reply lines.
func smtpText(text string) string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		if smtpCode.MatchString(l) {
			l = l[4:]
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

// parseSMTP reads an SMTP greeting.
func parseSMTP(fp *observe.Fingerprint, text string) {
	t := smtpText(text)
	switch {
	case iisRe.MatchString(t):
		v := iisRe.FindStringSubmatch(t)[1]
		fp.Product, fp.Version = productIIS, v
		setWindows(fp, v)
	case exch55Re.MatchString(t):
		fp.Product = productExchange
		fp.Version = exch55Re.FindStringSubmatch(t)[1]
		fp.Line = "5.5"
	case exch2007Re.MatchString(t):
		fp.Product = productExchange
		fp.OS = "Windows Server"
		note(fp, "Exchange 2007 or later: the SMTP banner carries no build number, so the version is unknown")
	case sendmailRe.MatchString(t):
		m := sendmailRe.FindStringSubmatch(t)
		fp.Product, fp.Version = productSendmail, m[1]
		if m[2] != m[1] {
			note(fp, "configuration version "+m[2]+" differs from the binary's "+m[1])
		}
		if tag := strings.TrimSpace(m[3]); tag != "" {
			sendmailTag(fp, m[1], tag)
		}
	case eximRe.MatchString(t):
		m := eximRe.FindStringSubmatch(t)
		fp.Product, fp.Version = productExim, m[1]
		if m[2] != "" {
			note(fp, "local build number #"+m[2])
		}
		note(fp, "Exim banners carry no distribution marker: a distribution's backported fixes cannot be seen")
	case postfixRe.MatchString(t):
		m := postfixRe.FindStringSubmatch(t)
		fp.Product = productPostfix
		switch p := strings.TrimSpace(m[1]); {
		case versionLike.MatchString(p):
			fp.Version = p
		case strings.HasPrefix(p, "Debian"):
			fp.Distro = "debian"
			fp.OS = "Debian"
		case strings.HasPrefix(p, "Ubuntu"):
			fp.Distro = "ubuntu"
			fp.OS = "Ubuntu"
		case strings.HasPrefix(p, "Raspbian"):
			fp.Distro = "raspbian"
			fp.OS = "Raspbian"
		case p != "":
			note(fp, "Postfix banner names "+p)
		}
	case dominoRe.MatchString(t):
		fp.Product, fp.Version = productDomino, dominoRe.FindStringSubmatch(t)[1]
	case strings.Contains(t, "OpenSMTPD"):
		fp.Product = productOpenSMTPD
	case mdaemonRe.MatchString(t):
		fp.Product, fp.Version = productMDaemon, mdaemonRe.FindStringSubmatch(t)[1]
	case kerioRe.MatchString(t):
		fp.Product, fp.Version = productKerio, kerioRe.FindStringSubmatch(t)[1]
	case cgpRe.MatchString(t):
		fp.Product, fp.Version = productCommunigate, cgpRe.FindStringSubmatch(t)[1]
	case strings.Contains(t, "hMailServer"):
		fp.Product = productHMail
	case strings.Contains(strings.ToLower(t), "qmail"):
		fp.Product = productQmail
	case strings.Contains(t, "Courier"):
		fp.Product = productCourier
	case strings.Contains(t, "Zimbra"):
		fp.Product = productZimbra
	}
	if fp.Product != "" && fp.Version == "" && fp.Line == "" && fp.Product != productExchange {
		note(fp, fp.Product+" hides its version")
	}
}

// parseEHLO reads an EHLO or HELO reply: it carries the software's name
// only rarely, but Exchange's extensions mark it.
func parseEHLO(fp *observe.Fingerprint, text string) {
	t := smtpText(text)
	up := strings.ToUpper(t)
	if strings.Contains(up, "XEXCH50") {
		note(fp, hintPrefix+"xexch50")
	}
	// Some servers repeat their banner in the EHLO greeting line.
	first := firstLine(t)
	if sendmailRe.MatchString(first) || eximRe.MatchString(first) || postfixRe.MatchString(first) || iisRe.MatchString(first) {
		parseSMTP(fp, first)
	}
}

// sendmailTag reads the third part of a Sendmail version: a distribution
// marker such as Debian-2+deb12u2 (a Debian or Ubuntu package revision).
func sendmailTag(fp *observe.Fingerprint, upstream, tag string) {
	rev, ok := strings.CutPrefix(tag, "Debian-")
	if !ok {
		note(fp, "Sendmail build tag "+tag)
		if strings.Contains(tag, "SuSE") || strings.Contains(tag, "SUSE") {
			fp.OS = "SUSE Linux"
		}
		return
	}
	if !debRevision.MatchString(rev) {
		note(fp, "unreadable Debian revision "+rev)
		return
	}
	fp.PackageVersion = upstream + "-" + rev
	setDebianFamily(fp, productSendmail, upstream, rev)
}

// setWindows derives the Windows release from an IIS SMTP build number.
func setWindows(fp *observe.Fingerprint, build string) {
	fp.Distro = "windows"
	parts := strings.Split(build, ".")
	if len(parts) < 3 {
		fp.OS = "Windows"
		return
	}
	key := parts[0] + "." + parts[1] + "." + parts[2]
	if r, ok := windowsBuilds[key]; ok {
		fp.DistroRelease = r
		if r == "XP" {
			fp.OS = "Windows XP"
		} else {
			fp.OS = "Windows Server " + r
		}
		note(fp, "IIS SMTP build "+build+" is part of "+fp.OS)
		return
	}
	fp.OS = "Windows"
	note(fp, "IIS SMTP build "+build+" does not map to a known Windows release")
}

// windowsBuilds maps Windows major.minor.build numbers to Windows
// (Server) releases.
var windowsBuilds = map[string]string{
	"5.0.2195":   "2000",
	"5.1.2600":   "XP",
	"6.0.2600":   "XP",
	"6.0.3790":   "2003",
	"7.0.6001":   "2008",
	"7.0.6002":   "2008",
	"7.0.6003":   "2008",
	"7.5.7600":   "2008 R2",
	"7.5.7601":   "2008 R2",
	"8.0.9200":   "2012",
	"8.5.9600":   "2012 R2",
	"10.0.14393": "2016",
	"10.0.17763": "2019",
	"10.0.20348": "2022",
	"10.0.26100": "2025",
}
