package imap

import (
	"errors"
	"strings"
)

// StatusLine is an IMAP status response line (RFC 9051 section 7.1): a
// greeting ("* OK …", "* PREAUTH …", "* BYE …") or a tagged completion
// ("A1 NO [PRIVACYREQUIRED] …").
type StatusLine struct {
	// Tag is "*" for an untagged line.
	Tag string
	// Status is OK, NO, BAD, PREAUTH or BYE, upper case.
	Status string
	// Code is the response code's atom (CAPABILITY, PRIVACYREQUIRED),
	// upper case, and CodeArgs what follows it inside the brackets.
	Code, CodeArgs string
	// Text is the human-readable rest of the line.
	Text string
}

// ErrNotStatus is returned by ParseStatusLine for a line that is not an
// IMAP status response.
var ErrNotStatus = errors.New("not an IMAP status response")

// ParseStatusLine parses one line (without its line ending).
func ParseStatusLine(line string) (StatusLine, error) {
	var s StatusLine
	tag, rest, ok := strings.Cut(line, " ")
	if !ok || tag == "" || !isAtom(tag) && tag != "*" {
		return s, ErrNotStatus
	}
	s.Tag = tag
	status, rest, _ := strings.Cut(rest, " ")
	s.Status = strings.ToUpper(status)
	switch s.Status {
	case "OK", "NO", "BAD", "BYE":
	case "PREAUTH":
		if tag != "*" {
			return s, ErrNotStatus
		}
	default:
		return s, ErrNotStatus
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return s, ErrNotStatus
		}
		code := rest[1:end]
		atom, args, _ := strings.Cut(code, " ")
		s.Code = strings.ToUpper(atom)
		s.CodeArgs = args
		rest = strings.TrimLeft(rest[end+1:], " ")
	}
	s.Text = rest
	return s, nil
}

// isAtom reports whether s is a plausible IMAP tag.
func isAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]+`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

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
	s, err := ParseStatusLine(line)
	if err != nil || s.Code != "CAPABILITY" {
		return nil, false
	}
	return ParseCapabilities(s.CodeArgs), true
}

// AuthMechanisms returns the SASL mechanisms of a capability list (the
// names after "AUTH=").
func AuthMechanisms(caps []string) []string {
	var mechs []string
	for _, c := range caps {
		if m, ok := strings.CutPrefix(c, "AUTH="); ok && m != "" {
			mechs = append(mechs, m)
		}
	}
	return mechs
}

func hasCap(caps []string, name string) bool {
	for _, c := range caps {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}
