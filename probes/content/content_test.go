package content

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/observe"
)

// TestTestFiles checks the two strings as they are built: the EICAR
// file by the MD5 every anti-malware vendor publishes for it, GTUBE by
// its published beginning and end.
func TestTestFiles(t *testing.T) {
	e := EICAR()
	if sum := md5.Sum(e); hex.EncodeToString(sum[:]) != "44d88612fea8a8f36de82e1278abb02f" || len(e) != eicarLen {
		t.Errorf("EICAR() is not the EICAR test file (%d bytes)", len(e))
	}
	g := string(GTUBE())
	if len(g) != gtubeLen || !strings.HasPrefix(g, "XJS*C4JDBQADN1.NSBN3*2IDNEN*") || !strings.HasSuffix(g, "*C.34X") {
		t.Errorf("GTUBE() is not SpamAssassin's GTUBE (%d bytes)", len(g))
	}
}

// forms returns what must never be stored: each string as it is and
// in base64 (as a message carries the attachment).
func forms() map[string][]byte {
	return map[string][]byte{
		"EICAR":           EICAR(),
		"GTUBE":           GTUBE(),
		"EICAR in base64": []byte(base64.StdEncoding.EncodeToString(EICAR())),
	}
}

// TestNotStored: neither test string is stored literally in the
// repository (any file, tracked or not, outside .git) or in the built
// binary: scanners on developers' and offices' machines would
// quarantine them.
func TestNotStored(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s", root)
	}
	bin := filepath.Join(t.TempDir(), "kensa")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/kensa-inspect/kensa/cmd/kensa").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	check := func(path string, b []byte) {
		for name, f := range forms() {
			if bytes.Contains(b, f) {
				t.Errorf("%s holds the %s string", path, name)
			}
		}
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	check("the kensa binary", b)
	files := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		check(p, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d files read under %s", files, root)
	}
}

// TestMessages: each message names the scan, the server and its token
// in X-Kensa-Test and its subject, goes to the one recipient, and
// carries its test string where a filter looks: EICAR as a base64 MIME
// attachment, GTUBE in the body.
func TestMessages(t *testing.T) {
	o := Options{ScanID: "20261205T000000Z-abcd", Server: "mx-01", Recipient: "kensa-test@example.jp"}
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for _, kind := range observe.ContentKinds {
		m := build(kind, o, now)
		msg, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		h := msg.Header.Get(HeaderName)
		for _, want := range []string{"scan=" + o.ScanID, "server=mx-01", "message=" + kind, "token=" + m.token} {
			if !strings.Contains(h, want) {
				t.Errorf("%s: %s %q lacks %q", kind, HeaderName, h, want)
			}
		}
		if s := msg.Header.Get("Subject"); !strings.HasPrefix(s, SubjectPrefix) || !strings.Contains(s, m.token) || strings.Contains(strings.ToLower(s), "spam") {
			t.Errorf("%s: subject %q", kind, s)
		}
		if to := msg.Header.Get("To"); to != "<"+o.Recipient+">" {
			t.Errorf("%s: To %q", kind, to)
		}
		var parts int
		var eicar, gtube bool
		walkParts(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0, func(b []byte) {
			parts++
			eicar = eicar || isTestFile(b, EICAR())
			gtube = gtube || bytes.Contains(b, GTUBE())
		})
		if eicar != (kind == observe.ContentEICAR) || gtube != (kind == observe.ContentGTUBE) {
			t.Errorf("%s: EICAR attached %v, GTUBE in the body %v (%d parts)", kind, eicar, gtube, parts)
		}
	}
}

// TestMessageLines: no line of a message starts with a dot (package
// smtp would double it) or is longer than RFC 5322 allows.
func TestMessageLines(t *testing.T) {
	for _, kind := range observe.ContentKinds {
		m := build(kind, Options{ScanID: "s", Server: "x", Recipient: "a@b.example"}, time.Now())
		for _, l := range strings.Split(string(m.data), "\r\n") {
			if strings.HasPrefix(l, ".") || len(l) > 998 {
				t.Errorf("%s: line %q", kind, l)
			}
		}
	}
}
