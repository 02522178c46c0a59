package admin

import "fmt"

// Telnet command bytes (RFC 854).
const (
	IAC  = 255
	DONT = 254
	DO   = 253
	WONT = 252
	WILL = 251
	SB   = 250
	SE   = 240
)

// Command is one telnet option negotiation: IAC verb option.
type Command struct {
	// Verb is DO, DONT, WILL or WONT.
	Verb byte
	// Option is the option's number (1 ECHO, 24 TERMINAL-TYPE, …).
	Option byte
}

var verbNames = map[byte]string{DO: "DO", DONT: "DONT", WILL: "WILL", WONT: "WONT"}

var optionNames = map[byte]string{
	0: "BINARY", 1: "ECHO", 3: "SUPPRESS-GO-AHEAD", 5: "STATUS", 6: "TIMING-MARK",
	24: "TERMINAL-TYPE", 31: "NAWS", 32: "TERMINAL-SPEED", 33: "TOGGLE-FLOW-CONTROL",
	34: "LINEMODE", 35: "X-DISPLAY-LOCATION", 36: "OLD-ENVIRON", 37: "AUTHENTICATION",
	38: "ENCRYPT", 39: "NEW-ENVIRON",
}

// String formats the command as "DO TERMINAL-TYPE" (or "DO 99").
func (c Command) String() string {
	opt, ok := optionNames[c.Option]
	if !ok {
		opt = fmt.Sprint(c.Option)
	}
	return verbNames[c.Verb] + " " + opt
}

// Refusal returns the answer that declines the command: WONT to DO,
// DONT to WILL. ok is false for DONT and WONT, which need no answer.
func (c Command) Refusal() (Command, bool) {
	switch c.Verb {
	case DO:
		return Command{WONT, c.Option}, true
	case WILL:
		return Command{DONT, c.Option}, true
	}
	return Command{}, false
}

// Bytes returns the command as sent on the wire.
func (c Command) Bytes() []byte { return []byte{IAC, c.Verb, c.Option} }

// Decoder separates a telnet byte stream into text and option
// negotiations. Commands may be split across calls to Feed.
// Subnegotiations (IAC SB … IAC SE) and other commands are dropped.
type Decoder struct {
	state int
}

const (
	stData = iota
	stIAC
	stVerb // saw IAC and a verb, kept in the state's second byte
	stSB
	stSBIAC
)

// Feed decodes p, returning the text bytes (IAC IAC as one 255 byte) and
// the negotiations it held.
func (d *Decoder) Feed(p []byte) (text []byte, cmds []Command) {
	for _, b := range p {
		switch d.state & 0xff {
		case stData:
			if b == IAC {
				d.state = stIAC
			} else {
				text = append(text, b)
			}
		case stIAC:
			switch b {
			case IAC:
				text = append(text, IAC)
				d.state = stData
			case DO, DONT, WILL, WONT:
				d.state = stVerb | int(b)<<8
			case SB:
				d.state = stSB
			default: // NOP, GA, DM, AYT, …: two-byte commands
				d.state = stData
			}
		case stVerb:
			cmds = append(cmds, Command{Verb: byte(d.state >> 8), Option: b})
			d.state = stData
		case stSB:
			if b == IAC {
				d.state = stSBIAC
			}
		case stSBIAC:
			switch b {
			case SE:
				d.state = stData
			default: // IAC IAC inside a subnegotiation, or garbage
				d.state = stSB
			}
		}
	}
	return text, cmds
}
