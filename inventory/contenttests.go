package inventory

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A content-tests file names the test recipient of the opt-in content
// test per server or per organisation, and optionally the test mailbox
// kensa may look into afterwards. Nothing is sent to a server the file
// does not name (directly or through its organisation):
//
//	from: kensa-test@inspection.example.jp    # envelope sender (optional; default <>)
//	tests:
//	  - org: 総務省                            # every server of the organisation
//	    rcpt: kensa-test@soumu.example.jp
//	    imap: imaps://imap.soumu.example.jp    # optional: the test mailbox, implicit TLS
//	    imap_user: kensa-test
//	    imap_password_file: soumu.pass         # or imap_password_env: SOUMU_PASS
//	    imap_ca: soumu-ca.pem                  # optional: certificates to trust
//	    imap_tls_name: imap.soumu.example.jp   # optional: the name the certificate shows
//	  - server: mx-gaimu-01                     # one server (wins over its organisation)
//	    rcpt: postmaster-test@mofa.example.jp
//
// Relative paths are relative to the file. Passwords come from a file or
// an environment variable, never from the file itself or a flag.

// ContentTest is the content test of a server: its test recipient, and
// the test mailbox to look into.
type ContentTest struct {
	// Server or Org says which servers the entry is for.
	Server, Org string
	// Rcpt is the test recipient; From the envelope sender ("" for <>).
	Rcpt, From string
	// IMAP is the test mailbox's server (imaps://host:port; "" for no
	// mailbox check); IMAPUser its user; IMAPPassword the password read
	// from IMAPPasswordFile or the environment variable IMAPPasswordEnv.
	IMAP, IMAPUser                    string
	IMAPPasswordFile, IMAPPasswordEnv string
	IMAPPassword                      string
	// IMAPCA is a PEM file of certificates to trust for the mailbox;
	// IMAPTLSName the name its certificate must show.
	IMAPCA, IMAPTLSName string
	// Line and Column say where the entry is (0 for one made from flags).
	Line, Column int
}

// IMAPAddress returns the host and port of IMAP (default port 993).
func (c *ContentTest) IMAPAddress() (host string, port int) {
	u, err := url.Parse(c.IMAP)
	if err != nil {
		return "", 0
	}
	port = 993
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	return u.Hostname(), port
}

// ContentTests is a content-tests file, validated.
type ContentTests struct {
	// Path is the file.
	Path string
	// From is the default envelope sender.
	From string
	// Tests are the entries in file order.
	Tests []ContentTest
}

// For returns the entry for the server s: its own entry, else its
// organisation's; nil when the file names neither.
func (t *ContentTests) For(s *Server) *ContentTest {
	if t == nil {
		return nil
	}
	var org *ContentTest
	for i := range t.Tests {
		e := &t.Tests[i]
		if e.Server != "" && e.Server == s.ID {
			return e
		}
		if e.Server == "" && e.Org == s.Org && org == nil {
			org = e
		}
	}
	return org
}

// ContentTestsError lists the problems of a refused content-tests file.
type ContentTestsError struct {
	File     string
	Problems []Problem
}

func (e *ContentTestsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: content tests refused: %d problem", e.File, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n" + p.Error())
	}
	return b.String()
}

// LoadContentTests reads and validates a content-tests file against the
// inventory inv: every server and organisation it names must be in the
// inventory, every recipient an address, every mailbox an imaps:// URL
// with a user and a readable password. A file with any problem is
// refused whole (*ContentTestsError), every problem with its line and
// column.
func LoadContentTests(path string, inv *Inventory, getenv func(string) string) (*ContentTests, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := &ContentTests{Path: path}
	var ps []Problem
	add := func(n *yaml.Node, field, format string, args ...any) {
		p := Problem{File: path, Field: field, Msg: fmt.Sprintf(format, args...)}
		if n != nil {
			p.Line, p.Column = n.Line, n.Column
		}
		ps = append(ps, p)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		add(nil, "yaml", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, &ContentTestsError{File: path, Problems: ps}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		add(&doc, "yaml", "want a mapping with the key tests")
		return nil, &ContentTestsError{File: path, Problems: ps}
	}
	servers, orgs := map[string]bool{}, map[string]bool{}
	for _, s := range inv.Servers {
		servers[s.ID], orgs[s.Org] = true, true
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "from":
			if !validAddress(v.Value) {
				add(v, "from", "%q is not a mail address (local@domain)", v.Value)
			}
			out.From = v.Value
		case "tests":
			list = v
		default:
			add(k, "yaml", "unknown key %q (want from, tests)", k.Value)
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		add(root, "tests", "no tests: want a list of entries, each with rcpt and server or org")
		return nil, &ContentTestsError{File: path, Problems: ps}
	}
	dir := filepath.Dir(path)
	seen := map[string]*yaml.Node{}
	for _, n := range list.Content {
		if n.Kind != yaml.MappingNode {
			add(n, "tests", "want an entry with rcpt and server or org")
			continue
		}
		e := ContentTest{Line: n.Line, Column: n.Column}
		at := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			at[k.Value] = v
			val := v.Value
			switch k.Value {
			case "server":
				e.Server = val
			case "org":
				e.Org = val
			case "rcpt":
				e.Rcpt = val
			case "from":
				e.From = val
			case "imap":
				e.IMAP = val
			case "imap_user":
				e.IMAPUser = val
			case "imap_password_file":
				e.IMAPPasswordFile = resolvePath(dir, val)
			case "imap_password_env":
				e.IMAPPasswordEnv = val
			case "imap_ca":
				e.IMAPCA = resolvePath(dir, val)
			case "imap_tls_name":
				e.IMAPTLSName = val
			default:
				add(k, k.Value, "unknown key (want server, org, rcpt, from, imap, imap_user, imap_password_file, imap_password_env, imap_ca, imap_tls_name)")
				continue
			}
			if v.Kind != yaml.ScalarNode || val == "" {
				add(v, k.Value, "want a non-empty value")
			}
		}
		switch {
		case (e.Server == "") == (e.Org == ""):
			add(n, "server", "name exactly one of server and org")
		case e.Server != "" && !servers[e.Server]:
			add(at["server"], "server", "no server %q in the inventory", e.Server)
		case e.Org != "" && !orgs[e.Org]:
			add(at["org"], "org", "no organisation %q in the inventory", e.Org)
		default:
			key := "server " + e.Server
			if e.Server == "" {
				key = "org " + e.Org
			}
			if first, dup := seen[key]; dup {
				add(n, "server", "a second entry for %s (first at line %d)", key, first.Line)
			}
			seen[key] = n
		}
		if !validAddress(e.Rcpt) {
			add(orNode(at["rcpt"], n), "rcpt", "want the test recipient's mail address (local@domain), got %q", e.Rcpt)
		}
		if e.From != "" && !validAddress(e.From) {
			add(at["from"], "from", "%q is not a mail address (local@domain)", e.From)
		}
		if e.IMAP != "" {
			if msg := CheckMailboxURL(e.IMAP); msg != "" {
				add(at["imap"], "imap", "%s", msg)
			}
			if e.IMAPUser == "" {
				add(n, "imap_user", "a mailbox check needs imap_user")
			}
			pw, msg := ReadPassword(e.IMAPPasswordFile, e.IMAPPasswordEnv, getenv)
			if msg != "" {
				add(orNode(at["imap_password_file"], orNode(at["imap_password_env"], n)), "imap_password", "%s", msg)
			}
			e.IMAPPassword = pw
			if e.IMAPCA != "" {
				if _, err := os.Stat(e.IMAPCA); err != nil {
					add(at["imap_ca"], "imap_ca", "cannot read %s: %v", e.IMAPCA, err)
				}
			}
		} else if e.IMAPUser != "" || e.IMAPPasswordFile != "" || e.IMAPPasswordEnv != "" || e.IMAPCA != "" || e.IMAPTLSName != "" {
			add(n, "imap", "mailbox settings without imap (the mailbox's imaps:// URL)")
		}
		out.Tests = append(out.Tests, e)
	}
	if len(ps) > 0 {
		return nil, &ContentTestsError{File: path, Problems: ps}
	}
	return out, nil
}

func orNode(n, def *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return def
}

func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// validAddress reports whether s is a plain mail address local@domain,
// with nothing an SMTP command could be bent with.
func validAddress(s string) bool {
	local, dom, ok := strings.Cut(s, "@")
	if !ok || local == "" || dom == "" || strings.ContainsAny(s, " \t\r\n<>(),;:\"\\[]") || strings.Count(s, "@") != 1 {
		return false
	}
	return strings.Contains(dom, ".") || dom == "localhost"
}

// ValidAddress reports whether s is a plain mail address (local@domain)
// that can stand between < and > in MAIL FROM or RCPT TO.
func ValidAddress(s string) bool { return validAddress(s) }

// CheckMailboxURL says what is wrong with a test mailbox's URL, or "":
// it must be imaps://host[:port], a mailbox read over implicit TLS.
func CheckMailboxURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL: %v", s, err)
	case u.Scheme != "imaps":
		return fmt.Sprintf("%q: want imaps://host[:port] (the mailbox is read over implicit TLS only)", s)
	case u.Hostname() == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "":
		return fmt.Sprintf("%q: want imaps://host[:port], nothing else", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%q: bad port", s)
		}
	}
	if _, err := netip.ParseAddr(u.Hostname()); err != nil && net.ParseIP(u.Hostname()) == nil && !strings.Contains(u.Hostname(), ".") && u.Hostname() != "localhost" {
		return fmt.Sprintf("%q: %q is neither an IP address nor a DNS name", s, u.Hostname())
	}
	return ""
}

// ReadPassword reads a mailbox password from file (its first line) or
// from the environment variable env (exactly one of them); it says what
// is wrong, or "".
func ReadPassword(file, env string, getenv func(string) string) (string, string) {
	switch {
	case file != "" && env != "":
		return "", "give the password by a file or an environment variable, not both"
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Sprintf("cannot read the password file: %v", err)
		}
		pw, _, _ := strings.Cut(string(b), "\n")
		pw = strings.TrimRight(pw, "\r")
		if pw == "" {
			return "", fmt.Sprintf("the password file %s is empty", file)
		}
		return pw, ""
	case env != "":
		pw := getenv(env)
		if pw == "" {
			return "", fmt.Sprintf("the environment variable %s is not set or empty", env)
		}
		return pw, ""
	}
	return "", "a mailbox check needs the password: a file (imap_password_file) or an environment variable (imap_password_env)"
}
