package pop3client

import (
	"errors"
	"fmt"
	"strings"
)

// Status is the kind of a POP3 reply line.
type Status int

// The three kinds of reply line a POP3 server sends.
const (
	// StatusOK is a positive reply, "+OK".
	StatusOK Status = iota + 1
	// StatusErr is a negative reply, "-ERR".
	StatusErr
	// StatusContinue is a SASL continuation, "+ " followed by a base64
	// challenge (RFC 5034).
	StatusContinue
)

// String returns the status indicator as it appears on the wire.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "+OK"
	case StatusErr:
		return "-ERR"
	case StatusContinue:
		return "+"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Reply is one parsed reply line.
type Reply struct {
	Status Status
	// Code is the RFC 2449 response code between brackets after the
	// status ("AUTH", "SYS/TEMP", "IN-USE"), without the brackets; empty
	// when the line has none.
	Code string
	// Text is the rest of the line after the status and code; for a
	// continuation it is the base64 challenge.
	Text string
	// Line is the whole line as received, without its line ending.
	Line string
}

// ProtocolError reports a line that is not a POP3 reply where one was
// expected, or a reply that breaks the protocol.
type ProtocolError struct {
	// Line is the offending line (possibly cut), empty when the problem is
	// not a single line.
	Line string
	// Problem says what is wrong with it.
	Problem string
}

// Error describes the problem and the line.
func (e *ProtocolError) Error() string {
	if e.Line == "" {
		return "pop3: " + e.Problem
	}
	return fmt.Sprintf("pop3: %s: %q", e.Problem, cut(e.Line, 120))
}

// ReplyError is a negative reply (-ERR) to a command.
type ReplyError struct {
	// Command is the verb of the command that was refused ("USER",
	// "PASS", "AUTH", "STLS"); it never holds arguments.
	Command string
	// Code is the RFC 2449 response code, if any ("AUTH", "SYS/TEMP").
	Code string
	// Text is the server's explanation.
	Text string
	// Line is the reply line as received.
	Line string
}

// Error names the refused command and quotes the reply.
func (e *ReplyError) Error() string {
	return fmt.Sprintf("pop3: %s refused: %s", e.Command, cut(e.Line, 200))
}

// ErrLineTooLong is returned when the server sends a line longer than the
// client's limit; the connection is then unusable.
var ErrLineTooLong = errors.New("pop3: server sent a line longer than the limit")

// ErrTooManyLines is returned when a multi-line reply has more lines than
// the client accepts.
var ErrTooManyLines = errors.New("pop3: multi-line reply has too many lines")

// ParseReply parses one reply line (without its line ending). It accepts
// the status indicators in any letter case, as some servers send "+ok".
func ParseReply(line string) (Reply, error) {
	r := Reply{Line: line}
	var rest string
	switch {
	case hasPrefixFold(line, "+OK"):
		r.Status = StatusOK
		rest = line[3:]
	case hasPrefixFold(line, "-ERR"):
		r.Status = StatusErr
		rest = line[4:]
	case line == "+" || strings.HasPrefix(line, "+ "):
		r.Status = StatusContinue
		r.Text = strings.TrimSpace(line[1:])
		return r, nil
	default:
		return r, &ProtocolError{Line: line, Problem: "not a POP3 reply"}
	}
	if rest != "" && rest[0] != ' ' {
		// "+OKAY" or "-ERROR": not a status indicator followed by text.
		return r, &ProtocolError{Line: line, Problem: "malformed status indicator"}
	}
	rest = strings.TrimLeft(rest, " ")
	if strings.HasPrefix(rest, "[") {
		if end := strings.IndexByte(rest, ']'); end > 0 {
			r.Code = rest[1:end]
			rest = strings.TrimLeft(rest[end+1:], " ")
		}
	}
	r.Text = rest
	return r, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Timestamp returns the APOP timestamp of a greeting text (RFC 1939
// section 7): the first "<...@...>" string, brackets included, or "" when
// there is none.
func Timestamp(greeting string) string {
	for i := 0; i < len(greeting); i++ {
		if greeting[i] != '<' {
			continue
		}
		end := strings.IndexByte(greeting[i:], '>')
		if end < 0 {
			return ""
		}
		ts := greeting[i : i+end+1]
		if strings.Contains(ts, "@") && !strings.ContainsAny(ts[1:len(ts)-1], "<> ") {
			return ts
		}
	}
	return ""
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
