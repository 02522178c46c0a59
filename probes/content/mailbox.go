package content

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Defaults of Mailbox.
const (
	// DefaultWait bounds the wait for the control message to arrive.
	DefaultWait = 2 * time.Minute
	// DefaultSettle is how long the check goes on looking for the test
	// messages the server took once the control message is there.
	DefaultSettle = 30 * time.Second
	// DefaultInterval is the pause between two searches of the folders.
	DefaultInterval = 2 * time.Second
)

// maxMessage bounds one fetched test message; maxFolders the folders
// searched.
const (
	maxMessage = 256 << 10
	maxFolders = 200
)

// Mailbox is the test mailbox the content test looks into afterwards,
// over IMAP with implicit TLS (imaps), the certificate verified.
type Mailbox struct {
	// Addr is the IMAP server's address; Host its name as the operator
	// gave it (for the record: imaps://Host:port).
	Addr netip.AddrPort
	Host string
	// TLSName is the name the server's certificate must show (default
	// Host); RootCAs the certificates to trust (nil: the system's).
	TLSName string
	RootCAs *x509.CertPool
	// User and Password log in to the test mailbox. The password never
	// reaches a transcript, a trace or the observation.
	User, Password string
	// Wait, Settle and Interval: see DefaultWait, DefaultSettle and
	// DefaultInterval.
	Wait, Settle, Interval time.Duration
	// Sleep waits between two rounds (nil: a timer that ends with ctx);
	// tests count rounds with it instead of waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// URL returns the mailbox's server as imaps://host:port.
func (m *Mailbox) URL() string {
	host := m.Host
	if host == "" {
		host = m.Addr.Addr().String()
	}
	return "imaps://" + net.JoinHostPort(host, fmt.Sprint(m.Addr.Port()))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// check looks for the messages of obs that the server took.
func (m *Mailbox) check(ctx context.Context, env wire.Env, obs *observe.Content) *observe.MailboxCheck {
	wait, settle, interval := m.Wait, m.Settle, m.Interval
	if wait <= 0 {
		wait = DefaultWait
	}
	if settle <= 0 {
		settle = DefaultSettle
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	sleep := m.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	res := &observe.MailboxCheck{Server: m.URL(), User: m.User}
	tr := wire.NewTranscript(env.Tracer, m.Addr.String()+" content-mailbox")
	defer func() { res.Transcript = tr.Take() }()
	want := map[string]string{} // token -> kind
	for _, msg := range obs.Messages {
		if msg.Accepted() {
			want[msg.Token] = msg.Kind
		}
	}
	c, err := m.login(ctx, env, tr)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer func() {
		_ = c.Logout().Wait()
		c.Close()
	}()
	// Rounds are counted, not timed: a round's searches take what they
	// take, and the bounds are in rounds of the interval.
	maxRounds := int(wait/interval) + 1
	settleRounds := int(settle / interval)
	controlAt := -1
	for round := 0; ; round++ {
		res.Rounds = round + 1
		found, folders, err := m.search(c, tr, want)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		res.Folders, res.Found = folders, found
		if controlAt < 0 && res.Find(observe.ContentControl) != nil {
			controlAt = round
		}
		switch {
		case len(found) == len(want):
			return res
		case controlAt >= 0 && round-controlAt >= settleRounds:
			return res
		case controlAt < 0 && round+1 >= maxRounds:
			res.Error = fmt.Sprintf("the control message did not arrive within %s", wait)
			return res
		}
		if err := sleep(ctx, interval); err != nil {
			res.Error = "mailbox check stopped: " + err.Error()
			return res
		}
		res.WaitedMS += interval.Milliseconds()
		if controlAt >= 0 {
			res.SettleMS += interval.Milliseconds()
		}
	}
}

// tapConn records the plaintext above TLS in a transcript.
type tapConn struct {
	net.Conn
	r, w io.Writer
}

func (t *tapConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.r.Write(p[:n])
	}
	return n, err
}

func (t *tapConn) Write(p []byte) (int, error) {
	t.w.Write(p)
	return t.Conn.Write(p)
}

// login connects, verifies the server's certificate and logs in.
func (m *Mailbox) login(ctx context.Context, env wire.Env, tr *wire.Transcript) (*imapclient.Client, error) {
	for _, s := range secrets(m.User, m.Password) {
		tr.AddSecret(s)
	}
	lim := env.Lim()
	// A mailbox holds more than one reply's worth: the byte budget of
	// the connection is that of the messages fetched.
	env.Limits.MaxBytes = 4*maxMessage + lim.MaxBytes
	conn, err := env.Dial(ctx, "tcp", observe.Target{Service: "imaps", Addr: m.Addr, Host: m.Host}, nil)
	if err != nil {
		return nil, fmt.Errorf("mailbox %s: %s", m.URL(), wire.Describe("connect", err))
	}
	name := m.TLSName
	if name == "" {
		name = m.Host
	}
	if name == "" {
		name = m.Addr.Addr().String()
	}
	tc := tls.Client(conn, &tls.Config{ServerName: name, RootCAs: m.RootCAs, MinVersion: tls.VersionTLS12})
	hctx, cancel := context.WithTimeout(ctx, lim.ReadTimeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("mailbox %s: TLS: %v (the certificate must be valid for %s: set the mailbox's CA or TLS name)", m.URL(), err, name)
	}
	tr.Note("TLS established with %s, certificate verified for %s", m.URL(), name)
	c := imapclient.New(&tapConn{Conn: tc, r: tr.Tap("S"), w: tr.Tap("C")}, nil)
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("mailbox %s: greeting: %v", m.URL(), err)
	}
	if err := c.Login(m.User, m.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("mailbox %s: login as %s refused: %s", m.URL(), m.User, redact(err.Error(), m.Password))
	}
	return c, nil
}

// secrets returns every form in which the password may cross the wire:
// as it is, quoted with escapes, and in a SASL PLAIN exchange.
func secrets(user, pw string) []string {
	if pw == "" {
		return nil
	}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(pw)
	return []string{pw, esc, base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pw))}
}

func redact(s, pw string) string {
	if pw == "" {
		return s
	}
	return strings.ReplaceAll(s, pw, wire.Redacted)
}

// junkNames are folder names that say a folder holds spam.
var junkNames = []string{"junk", "spam", "bulk", "迷惑"}

// isJunk reports whether a folder is a junk folder: its \Junk attribute
// or its name.
func isJunk(l *imap.ListData) bool {
	for _, a := range l.Attrs {
		if strings.EqualFold(string(a), string(imap.MailboxAttrJunk)) {
			return true
		}
	}
	name := strings.ToLower(l.Mailbox)
	for _, w := range junkNames {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// search searches every selectable folder for the tokens of want and
// reads what it finds.
func (m *Mailbox) search(c *imapclient.Client, tr *wire.Transcript, want map[string]string) ([]observe.MailboxMessage, []string, error) {
	lists, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, nil, fmt.Errorf("mailbox %s: LIST: %v", m.URL(), err)
	}
	var found []observe.MailboxMessage
	var folders []string
	seen := map[string]bool{}
	for i, l := range lists {
		if i >= maxFolders {
			tr.Note("%d more folders not searched", len(lists)-maxFolders)
			break
		}
		if hasAttr(l, imap.MailboxAttrNoSelect) || hasAttr(l, imap.MailboxAttrNonExistent) {
			continue
		}
		folders = append(folders, l.Mailbox)
		if _, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			tr.Note("folder %q cannot be examined: %v", l.Mailbox, err)
			continue
		}
		for tok, kind := range want {
			if seen[tok] {
				continue
			}
			crit := &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
				{Header: []imap.SearchCriteriaHeaderField{{Key: HeaderName, Value: tok}}},
				{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: tok}}},
			}}}
			sd, err := c.UIDSearch(crit, nil).Wait()
			if err != nil {
				return nil, nil, fmt.Errorf("mailbox %s: SEARCH in %q: %v", m.URL(), l.Mailbox, err)
			}
			uids := sd.AllUIDs()
			if len(uids) == 0 {
				continue
			}
			mm, err := m.read(c, tr, uids[0], kind)
			if err != nil {
				return nil, nil, fmt.Errorf("mailbox %s: FETCH in %q: %v", m.URL(), l.Mailbox, err)
			}
			mm.Folder, mm.JunkFolder = l.Mailbox, isJunk(l)
			found = append(found, mm)
			seen[tok] = true
		}
	}
	order := map[string]int{}
	for i, k := range observe.ContentKinds {
		order[k] = i
	}
	sort.SliceStable(found, func(i, j int) bool { return order[found[i].Kind] < order[found[j].Kind] })
	return found, folders, nil
}

func hasAttr(l *imap.ListData, a imap.MailboxAttr) bool {
	for _, x := range l.Attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

// read fetches one message found and reads what a filter may have done
// to it: its subject, the headers filters add, and for the EICAR
// message whether a part is still the test file. The fetched content is
// elided from the transcript.
func (m *Mailbox) read(c *imapclient.Client, tr *wire.Transcript, uid imap.UID, kind string) (observe.MailboxMessage, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	tr.Mute()
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	var raw []byte
	if len(msgs) > 0 {
		raw = msgs[0].FindBodySection(section)
	}
	tr.Unmute("UID FETCH %d BODY.PEEK[]: the %s message, %d bytes, content elided", uid, kind, len(raw))
	out := observe.MailboxMessage{Kind: kind}
	if err != nil {
		return out, err
	}
	if len(raw) > maxMessage {
		return out, fmt.Errorf("message of %d bytes, more than a test message can be", len(raw))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return out, fmt.Errorf("the %s message cannot be read: %v", kind, err)
	}
	dec := new(mime.WordDecoder)
	out.Subject = msg.Header.Get("Subject")
	if s, err := dec.DecodeHeader(out.Subject); err == nil {
		out.Subject = s
	}
	for k, vs := range msg.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-spam") || strings.HasPrefix(lk, "x-virus") || lk == "x-quarantine" {
			for _, v := range vs {
				out.Headers = append(out.Headers, k+": "+strings.Join(strings.Fields(v), " "))
			}
		}
	}
	sort.Strings(out.Headers)
	eicar := EICAR()
	walkParts(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0, func(body []byte) {
		out.Parts++
		if isTestFile(body, eicar) {
			out.AttachmentIntact = true
		}
	})
	return out, nil
}

// isTestFile reports whether body is the test file: the file itself,
// followed by nothing but white space (as the EICAR file may be).
func isTestFile(body, file []byte) bool {
	rest, ok := bytes.CutPrefix(body, file)
	return ok && len(bytes.TrimSpace(rest)) == 0
}

// walkParts calls leaf with the decoded content of every leaf part of a
// MIME entity, messages inside messages included, to a bounded depth.
func walkParts(ctype, cte string, body io.Reader, depth int, leaf func([]byte)) {
	if depth > 8 {
		return
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = "text/plain"
	}
	switch {
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err != nil {
				return
			}
			walkParts(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1, leaf)
		}
	case mt == "message/rfc822":
		inner, err := mail.ReadMessage(decoded(cte, body))
		if err != nil {
			return
		}
		walkParts(inner.Header.Get("Content-Type"), inner.Header.Get("Content-Transfer-Encoding"), inner.Body, depth+1, leaf)
	default:
		b, err := io.ReadAll(io.LimitReader(decoded(cte, body), maxMessage))
		if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
			leaf(b)
		}
	}
}

// decoded undoes a content transfer encoding.
func decoded(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &lineJoiner{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// lineJoiner drops line breaks and spaces, which base64 bodies carry.
type lineJoiner struct{ r io.Reader }

func (l *lineJoiner) Read(p []byte) (int, error) {
	for {
		n, err := l.r.Read(p)
		k := 0
		for _, b := range p[:n] {
			if b != '\r' && b != '\n' && b != ' ' && b != '\t' {
				p[k] = b
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}
