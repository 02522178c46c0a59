package daemon

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// PostfixSession is one SMTP session as Postfix's smtpd counted it in
// its "disconnect from" log line: each command with how many times it
// succeeded and how often it was sent ("rcpt=0/9"), and the totals
// ("commands=7/16").
type PostfixSession struct {
	// Client is the client as logged ("unknown[127.0.5.77]").
	Client string
	// Commands maps a command ("ehlo", "mail", "rcpt", "rset",
	// "starttls", "quit", "unknown") to [succeeded, sent].
	Commands map[string][2]int
	// OK and Total are the totals of the commands= field.
	OK, Total int
	// Line is the log line.
	Line string
}

// Errors returns how many of the session's commands smtpd answered
// with an error (4xx or 5xx): the count its soft and hard error limits
// are measured against.
func (s PostfixSession) Errors() int { return s.Total - s.OK }

// SessionsEnded waits until Postfix has logged the end of every session
// it logged as begun from client (an address), at most timeout, and
// returns every session logged as ended.
func (p *Postfix) SessionsEnded(client string, timeout time.Duration) ([]PostfixSession, error) {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(filepath.Join(p.Dir, "maillog"))
		if err != nil {
			return nil, err
		}
		tag := "[" + client + "]"
		begun, ended := 0, 0
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.Contains(l, tag) {
				continue
			}
			switch {
			case strings.Contains(l, " connect from "):
				begun++
			case strings.Contains(l, " disconnect from "):
				ended++
			}
		}
		if begun == ended {
			return p.Sessions()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("postfix log: %d sessions from %s begun, %d ended after %s", begun, client, ended, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var disconnectRE = regexp.MustCompile(`disconnect from (\S+)((?: [a-z]+=\d+(?:/\d+)?)+)`)

// Sessions returns every session Postfix's smtpd logged as ended, in
// the order of the log.
func (p *Postfix) Sessions() ([]PostfixSession, error) {
	f, err := os.Open(filepath.Join(p.Dir, "maillog"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []PostfixSession
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := disconnectRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		s := PostfixSession{Client: m[1], Commands: map[string][2]int{}, Line: sc.Text()}
		for _, f := range strings.Fields(m[2]) {
			name, val, _ := strings.Cut(f, "=")
			okS, totS, both := strings.Cut(val, "/")
			ok, err1 := strconv.Atoi(okS)
			tot := ok
			var err2 error
			if both {
				tot, err2 = strconv.Atoi(totS)
			}
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("postfix log: cannot read %q in %q", f, sc.Text())
			}
			if name == "commands" {
				s.OK, s.Total = ok, tot
				continue
			}
			s.Commands[name] = [2]int{ok, tot}
		}
		out = append(out, s)
	}
	return out, sc.Err()
}
