package smtp

import (
	"net/netip"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

// ParseEHLO reads the extensions of a 250 reply to EHLO: only keyword
// lines count (RFC 5321 section 4.1.1.1), never free text such as HELP
// output. The first line is the server's greeting of the client.
func ParseEHLO(r *observe.SMTPReply) (exts []string, auth bool, mechs []string, starttls bool) {
	if r == nil || r.Class() != 2 {
		return nil, false, nil, false
	}
	seen := map[string]bool{}
	for i, l := range r.Lines {
		if i == 0 {
			continue
		}
		_, _, text, err := observe.ParseSMTPReplyLine(l)
		if err != nil {
			continue
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		kw, params, _ := strings.Cut(text, " ")
		kwu := strings.ToUpper(kw)
		if !isKeyword(strings.TrimPrefix(kwu, "AUTH=")) && !strings.HasPrefix(kwu, "AUTH=") {
			continue
		}
		line := kwu
		if params != "" {
			line += " " + strings.TrimSpace(params)
		}
		exts = append(exts, line)
		switch {
		case kwu == "STARTTLS":
			starttls = true
		case kwu == "AUTH" || strings.HasPrefix(kwu, "AUTH="):
			auth = true
			fields := strings.Fields(params)
			if rest, ok := strings.CutPrefix(kwu, "AUTH="); ok && rest != "" {
				fields = append([]string{rest}, fields...)
			}
			for _, m := range fields {
				m = strings.ToUpper(m)
				if !seen[m] && isKeyword(m) {
					seen[m] = true
					mechs = append(mechs, m)
				}
			}
		}
	}
	return exts, auth, mechs, starttls
}

// isKeyword reports whether s is an EHLO keyword or SASL mechanism
// name: letters, digits, hyphens and underscores, starting with a letter
// or digit.
func isKeyword(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// ServerName returns the host name a greeting or EHLO reply line
// announces: the first word after the code when it looks like a domain
// name with at least one dot (not an address literal, not a bare
// keyword such as "ESMTP"). It returns "" otherwise.
func ServerName(r *observe.SMTPReply) string {
	if r == nil || len(r.Lines) == 0 {
		return ""
	}
	_, _, text, err := observe.ParseSMTPReplyLine(r.Lines[0])
	if err != nil {
		return ""
	}
	if e := observe.ParseEnhancedCode(text, 0); e != "" {
		text = strings.TrimPrefix(strings.TrimLeft(text, " "), e)
	}
	word, _, _ := strings.Cut(strings.TrimSpace(text), " ")
	word = strings.TrimSuffix(word, ",")
	word = strings.TrimSuffix(word, ".")
	if IsDomain(word) {
		return strings.ToLower(word)
	}
	return ""
}

// IsDomain reports whether s is a plausible DNS host name with at least
// two labels, not an IP address.
func IsDomain(s string) bool {
	if len(s) < 3 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	allDigits := true
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			allDigits = false
		}
	}
	return !allDigits
}

// ParentDomain returns name without its first label when what remains
// still has two labels ("mx1.example.jp" -> "example.jp"); "" otherwise.
func ParentDomain(name string) string {
	_, rest, ok := strings.Cut(name, ".")
	if !ok || !IsDomain(rest) {
		return ""
	}
	return rest
}
