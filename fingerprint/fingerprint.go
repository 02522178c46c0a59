// Package fingerprint reads the banners probes keep (SMTP greeting and
// EHLO, IMAP greeting and ID, POP3 greeting, SSH identification, telnet
// prompt) and names the software behind each service: product, upstream
// version (empty when hidden), the distribution and release when a marker
// shows them, the distribution package version when visible, and the
// operating system when it can be inferred.
//
// Parsing is deliberately conservative: a field is filled only when the
// banner states it or a documented mapping derives it; anything guessed is
// said in Notes. Rules that grade patch items (M1, M2) build on these
// fields and never pass what a banner does not show.
package fingerprint

import (
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

// maxText bounds how much of one banner is parsed.
const maxText = 4096

// Identify reads every banner and returns one fingerprint per service
// (service, address and port), in the order services first appear. A
// service whose banners name no known product still gets a fingerprint,
// with an empty product, so that rules know it was seen.
func Identify(banners []observe.Banner) []observe.Fingerprint {
	var out []observe.Fingerprint
	idx := map[string]int{}
	for _, b := range banners {
		key := b.Service + "\x00" + b.Address + "\x00" + itoa(b.Port)
		fp := Parse(b)
		i, ok := idx[key]
		if !ok {
			idx[key] = len(out)
			out = append(out, fp)
			continue
		}
		out[i] = merge(out[i], fp)
	}
	for i := range out {
		finishMerged(&out[i])
	}
	return out
}

// Parse reads one banner.
func Parse(b observe.Banner) observe.Fingerprint {
	fp := observe.Fingerprint{Service: b.Service, Address: b.Address, Port: b.Port}
	text := b.Text
	if len(text) > maxText {
		text = text[:maxText]
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	if strings.TrimSpace(text) == "" {
		return fp
	}
	kind := b.Kind
	if kind == "" {
		kind = "banner"
	}
	switch {
	case kind == "identification" || strings.HasPrefix(strings.TrimSpace(text), "SSH-"):
		parseSSH(&fp, strings.TrimSpace(firstLine(text)))
	case kind == "ehlo" || kind == "helo":
		parseEHLO(&fp, text)
	case kind == "implementation":
		parseImplementation(&fp, text)
	case b.Service == "ssh":
		// Lines before the identification and the authentication
		// banner: only an operating-system release can be read there.
		parseTelnet(&fp, text)
	case kind == "prompt" || isTelnet(b.Service):
		parseTelnet(&fp, text)
	case kind == "id":
		parseIMAPID(&fp, text)
	case isPOP3(b.Service) || strings.HasPrefix(strings.TrimSpace(text), "+OK"):
		parsePOP3(&fp, text)
	case isIMAP(b.Service) || strings.HasPrefix(strings.TrimSpace(text), "* "):
		parseIMAP(&fp, text)
	case isSMTP(b.Service) || smtpCode.MatchString(text):
		parseSMTP(&fp, text)
	default:
		// An unknown service: try every parser that keys on a product
		// name, most specific first.
		parseSMTP(&fp, text)
		if fp.Product == "" {
			parseIMAP(&fp, text)
		}
		if fp.Product == "" {
			parsePOP3(&fp, text)
		}
	}
	if fp.Product != "" || fp.Distro != "" || fp.OS != "" || len(hints(&fp)) > 0 {
		fp.Evidence = append(fp.Evidence, kind+": "+clip(text, 300))
	}
	return fp
}

func isSMTP(s string) bool   { return s == "smtp" || s == "submission" || s == "smtps" }
func isIMAP(s string) bool   { return s == "imap" || s == "imaps" }
func isPOP3(s string) bool   { return s == "pop3" || s == "pop3s" }
func isTelnet(s string) bool { return s == "telnet" || s == "rlogin" || s == "rsh" }

// IsMail reports whether a service is one of the mail services item M2
// grades (SMTP, submission, SMTPS, IMAP, IMAPS, POP3, POP3S).
func IsMail(service string) bool { return isSMTP(service) || isIMAP(service) || isPOP3(service) }

// hints are facts an EHLO reply carries for merging (Exchange
// extensions), kept in notes with a marker prefix until merged.
func hints(fp *observe.Fingerprint) []string {
	var out []string
	for _, n := range fp.Notes {
		if strings.HasPrefix(n, hintPrefix) {
			out = append(out, n)
		}
	}
	return out
}

const hintPrefix = "hint:"

func note(fp *observe.Fingerprint, s string) {
	for _, n := range fp.Notes {
		if n == s {
			return
		}
	}
	fp.Notes = append(fp.Notes, s)
}

// merge combines the fingerprint of a further banner of the same service:
// fields a earlier banner left empty are filled in; a product only a
// later banner names is taken.
func merge(a, b observe.Fingerprint) observe.Fingerprint {
	if a.Product == "" {
		a.Product = b.Product
	}
	if a.Product == b.Product || b.Product == "" {
		if a.Version == "" {
			a.Version = b.Version
		} else if b.Version != "" && b.Version != a.Version {
			note(&a, "banners disagree on the version: "+a.Version+" and "+b.Version+"; the first is kept")
		}
		if a.Line == "" {
			a.Line = b.Line
		}
	}
	if a.Distro == "" {
		a.Distro = b.Distro
	}
	if a.Distro == b.Distro {
		if a.DistroRelease == "" && b.DistroRelease != "" {
			if len(a.ReleaseCandidates) == 0 || containsString(a.ReleaseCandidates, b.DistroRelease) {
				a.DistroRelease = b.DistroRelease
			} else {
				note(&a, "banners disagree on the release: "+b.DistroRelease+" is not one of "+strings.Join(a.ReleaseCandidates, ", "))
			}
		}
		if len(a.ReleaseCandidates) == 0 {
			a.ReleaseCandidates = b.ReleaseCandidates
		}
		if a.PackageVersion == "" {
			a.PackageVersion = b.PackageVersion
		}
	}
	if a.OS == "" {
		a.OS = b.OS
	}
	a.Evidence = append(a.Evidence, b.Evidence...)
	for _, n := range b.Notes {
		note(&a, n)
	}
	return a
}

// finishMerged applies what only several banners together show: an IIS
// SMTP service whose EHLO offers XEXCH50 is Exchange 2000/2003's.
func finishMerged(fp *observe.Fingerprint) {
	hasHint := func(h string) bool {
		for _, n := range fp.Notes {
			if n == hintPrefix+h {
				return true
			}
		}
		return false
	}
	if fp.Product == productIIS && hasHint("xexch50") {
		line := ""
		switch {
		case strings.HasPrefix(fp.Version, "6.0."):
			line = "2003"
		case strings.HasPrefix(fp.Version, "5.0."):
			line = "2000"
		}
		if line != "" {
			note(fp, "SMTP is IIS "+fp.Version+" with the Exchange extension XEXCH50: Exchange "+line)
			fp.Product = productExchange
			fp.Line = line
			fp.Version = ""
		}
	}
	var notes []string
	for _, n := range fp.Notes {
		if !strings.HasPrefix(n, hintPrefix) {
			notes = append(notes, n)
		}
	}
	fp.Notes = notes
	if fp.Evidence == nil {
		fp.Evidence = []string{}
	}
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

func clip(s string, n int) string {
	s = strings.TrimRight(s, "\r\n")
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
