package ssh

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

// MaxIdentLen is the longest identification line RFC 4253 (section 4.2)
// allows, including the closing CR LF.
const MaxIdentLen = 255

// ParseIdent parses one identification line (with or without its CR LF).
// It returns an error when the line does not start with "SSH-", has no
// software version, or holds a protocol version that is not of the form
// digits.digits.
func ParseIdent(line string) (observe.SSHIdent, error) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	id := observe.SSHIdent{Line: line}
	if !strings.HasPrefix(line, "SSH-") {
		return id, errors.New("not an SSH identification line (no \"SSH-\" prefix)")
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c == 0x7f {
			return id, fmt.Errorf("control character 0x%02x in identification line", c)
		}
	}
	rest := line[len("SSH-"):]
	head, comments, _ := strings.Cut(rest, " ")
	proto, software, ok := strings.Cut(head, "-")
	if !ok {
		return id, errors.New("identification line has no software version")
	}
	if !validProto(proto) {
		return id, fmt.Errorf("bad protocol version %q in identification line", clip(proto, 20))
	}
	id.Proto = proto
	id.Software = software
	id.Comments = comments
	return id, nil
}

// validProto accepts "digits.digits".
func validProto(p string) bool {
	major, minor, ok := strings.Cut(p, ".")
	return ok && allDigits(major) && allDigits(minor) && len(major) <= 3 && len(minor) <= 3
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
