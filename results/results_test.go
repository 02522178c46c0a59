package results

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/scoring"
)

func rec(id string, o scoring.Outcome) *Record {
	return &Record{
		Scan:   ScanMeta{ScanID: "s1", InventoryDigest: "sha256:ab", InventoryServers: 3},
		Server: ServerRef{ID: id, Org: "総務省", Unit: "本省", Host: "192.0.2.1"},
		Items:  map[string]scoring.Verdict{"A1": {Outcome: o, Source: scoring.FromProbe, Reason: "r", Evidence: []string{"C: RCPT TO:<x>"}}},
	}
}

func TestRoundTripAndCutLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	w, err := Append(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := w.Write(rec(id, scoring.Pass)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	// A crash while writing the third record.
	line, _ := Encode(rec("c", scoring.Fail))
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(line[:len(line)/2])
	f.Close()

	set, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Records) != 2 || len(set.Warnings) != 1 || !strings.Contains(set.Warnings[0], "cut") {
		t.Fatalf("records %d warnings %q", len(set.Records), set.Warnings)
	}
	if set.Records[0].Items["A1"].Evidence[0] != "C: RCPT TO:<x>" || string(set.Records[0].Observations) != "{}" {
		t.Fatalf("round trip: %+v", set.Records[0])
	}
	// Resume: cut to the last complete line, then append.
	n, err := TruncateIncomplete(path)
	if err != nil || n != int64(len(line)/2) {
		t.Fatalf("truncate %d %v", n, err)
	}
	w, _ = Append(path)
	w.Write(rec("c", scoring.Fail))
	w.Close()
	set, err = ReadFile(path)
	if err != nil || len(set.Records) != 3 || len(set.Warnings) != 0 {
		t.Fatalf("after resume: %v %d %q", err, len(set.Records), set.Warnings)
	}
	if n, _ := TruncateIncomplete(path); n != 0 {
		t.Fatalf("complete file cut by %d", n)
	}
}

func TestRefusesOtherSchemas(t *testing.T) {
	for _, in := range []string{
		`{"schema":"kensa/v2","server":{"id":"a"},"items":{}}` + "\n",
		`{"server":{"id":"a"}}` + "\n",
		// Another schema whose fields do not decode as this one's.
		`{"schema":"kensa/v2","server":"a","items":[1]}` + "\n",
	} {
		_, err := Read(strings.NewReader(in), "x.jsonl")
		if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "x.jsonl:1") {
			t.Errorf("%q: %v", in, err)
		}
	}
	// Garbage in the middle is an error, not a warning.
	good, _ := Encode(rec("a", scoring.Pass))
	in := string(good) + "{garbage\n" + string(good)
	if _, err := Read(strings.NewReader(in), "x.jsonl"); err == nil || !strings.Contains(err.Error(), "x.jsonl:2") {
		t.Errorf("middle garbage: %v", err)
	}
	// A bad outcome is refused.
	bad := strings.Replace(string(good), `"outcome":"pass"`, `"outcome":"maybe"`, 1)
	if _, err := Read(strings.NewReader(bad), "x.jsonl"); err == nil {
		t.Error("accepted outcome maybe")
	}
}

func TestLaterRecordSupersedes(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Write(rec("a", scoring.Unknown))
	w.Write(rec("b", scoring.Pass))
	w.Write(rec("a", scoring.Fail))
	set, err := Read(&buf, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Records) != 2 || set.Records[0].Items["A1"].Outcome != scoring.Fail || len(set.Warnings) != 1 {
		t.Fatalf("%d %v %q", len(set.Records), set.Records[0].Items["A1"].Outcome, set.Warnings)
	}
}

func TestSkipObservations(t *testing.T) {
	r := rec("a", scoring.Pass)
	r.Observations = []byte(`{"smtp":[{"greeting":"220 big"}]}`)
	line, _ := Encode(r)
	set, err := ReadWith(bytes.NewReader(line), "r", ReadOptions{SkipObservations: true})
	if err != nil || len(set.Records) != 1 {
		t.Fatal(err)
	}
	if set.Records[0].Observations != nil || set.Records[0].Items["A1"].Outcome != scoring.Pass {
		t.Fatalf("%+v", set.Records[0])
	}
	set, _ = Read(bytes.NewReader(line), "r")
	if string(set.Records[0].Observations) != `{"smtp":[{"greeting":"220 big"}]}` {
		t.Fatalf("%s", set.Records[0].Observations)
	}
}

func TestCheckNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.jsonl")
	if err := CheckNew(path); err != nil {
		t.Fatalf("no file: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CheckNew created the file: %v", err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := CheckNew(path)
	var ex *ExistsError
	if !errors.As(err, &ex) || ex.Path != path || err.Error() != "results file "+path+" exists" {
		t.Fatalf("existing file: %v", err)
	}
}
