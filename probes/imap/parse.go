package imap

import (
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

// ParseCapabilities splits a capability list ("IMAP4rev1 STARTTLS
// AUTH=PLAIN") into its names, upper-cased, without duplicates, in the
// server's order. Names that are not atoms are left out.
func ParseCapabilities(list string) []string {
	var caps []string
	seen := map[string]bool{}
	for _, f := range strings.Fields(list) {
		f = strings.ToUpper(f)
		if !isCapAtom(f) || seen[f] {
			continue
		}
		seen[f] = true
		caps = append(caps, f)
	}
	return caps
}

func isCapAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// CapabilityList returns the capability names a server line announces:
// "* CAPABILITY …", or a status line with a [CAPABILITY …] code. ok is
// false for any other line.
func CapabilityList(line string) (caps []string, ok bool) {
	if len(line) > 13 && strings.EqualFold(line[:13], "* CAPABILITY ") {
		return ParseCapabilities(line[13:]), true
	}
	s, err := observe.ParseIMAPStatusLine(line)
	if err != nil || s.Code != "CAPABILITY" {
		return nil, false
	}
	return ParseCapabilities(s.CodeArgs), true
}
