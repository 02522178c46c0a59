package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxRecordBytes bounds one line of a results file.
const MaxRecordBytes = 64 << 20

// Set is the content of a results file: the newest record per server, in
// the order servers first appear.
type Set struct {
	// Name is the file name, for messages.
	Name    string
	Records []*Record
	// Warnings report what the reader tolerated: a cut last line,
	// records superseded by a later record of the same server, records of
	// several scans or inventories.
	Warnings []string
	// Meta is the scan metadata of the last record.
	Meta ScanMeta
}

// ErrSchema is wrapped by errors about records of another schema.
var ErrSchema = errors.New("not a kensa/v1 record")

// ReadOptions tune reading.
type ReadOptions struct {
	// SkipObservations leaves Record.Observations empty: grading needs
	// only the verdicts, and observations are most of a record's size.
	SkipObservations bool
}

// ReadFile reads a results file.
func ReadFile(path string) (*Set, error) { return ReadFileWith(path, ReadOptions{}) }

// ReadFileWith reads a results file with options.
func ReadFileWith(path string, o ReadOptions) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadWith(f, path, o)
}

// Read reads results from r. A cut last line (a crashed scan) is reported
// in the warnings and dropped, and every complete record kept; any other
// line that is not a kensa/v1 record is an error naming the line.
func Read(r io.Reader, name string) (*Set, error) { return ReadWith(r, name, ReadOptions{}) }

// ReadWith reads results from r with options (see Read).
func ReadWith(r io.Reader, name string, o ReadOptions) (*Set, error) {
	set := &Set{Name: name}
	br := bufio.NewReaderSize(r, 1<<20)
	index := map[string]int{}
	digests := map[string]bool{}
	scans := map[string]bool{}
	superseded := 0
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		complete := len(line) > 0 && line[len(line)-1] == '\n'
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) > 0 {
			rec, perr := parseRecord(trimmed, o)
			switch {
			case perr != nil && !complete && err == io.EOF:
				set.Warnings = append(set.Warnings, fmt.Sprintf("%s:%d: last line is cut (%d bytes, a scan that stopped while writing); it was dropped and the %d complete records kept", name, lineNo, len(line), len(set.Records)))
			case perr != nil:
				return nil, fmt.Errorf("%s:%d: %w", name, lineNo, perr)
			default:
				if i, seen := index[rec.Server.ID]; seen {
					set.Records[i] = rec
					superseded++
				} else {
					index[rec.Server.ID] = len(set.Records)
					set.Records = append(set.Records, rec)
				}
				digests[rec.Scan.InventoryDigest] = true
				scans[rec.Scan.ScanID] = true
				set.Meta = rec.Scan
			}
		}
		if err == io.EOF {
			break
		}
	}
	if superseded > 0 {
		set.Warnings = append(set.Warnings, fmt.Sprintf("%s: %d records superseded by a later record of the same server", name, superseded))
	}
	if len(digests) > 1 {
		set.Warnings = append(set.Warnings, fmt.Sprintf("%s: records come from %d different inventories", name, len(digests)))
	}
	return set, nil
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxRecordBytes {
			return nil, fmt.Errorf("record longer than %d bytes", MaxRecordBytes)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

// schemaRecord decodes a record in one pass and tells a missing schema
// field from an empty one: the shallower field hides Record.Schema from
// the decoder.
type schemaRecord struct {
	Record
	Schema *string `json:"schema"`
}

// recordSansObservations decodes a record but skips its observations,
// as the shallower field hides Record.Observations from the decoder.
type recordSansObservations struct {
	Record
	Schema       *string  `json:"schema"`
	Observations struct{} `json:"observations"`
}

func parseRecord(b []byte, o ReadOptions) (*Record, error) {
	// One pass: a record is tens of kilobytes, and a scan reads back
	// thousands of them for its table.
	var (
		rec    Record
		schema *string
		err    error
	)
	if o.SkipObservations {
		var light recordSansObservations
		err = json.Unmarshal(b, &light)
		rec, schema = light.Record, light.Schema
	} else {
		var full schemaRecord
		err = json.Unmarshal(b, &full)
		rec, schema = full.Record, full.Schema
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return nil, fmt.Errorf("not a JSON record: %v", err)
	}
	// A record of another schema may fail to decode as this one: the
	// schema is checked before the decoding error is reported.
	if schema == nil {
		if err != nil {
			return nil, fmt.Errorf("not a JSON record: %v", err)
		}
		return nil, fmt.Errorf("%w: the line has no \"schema\" field", ErrSchema)
	}
	if *schema != Schema {
		return nil, fmt.Errorf("%w: schema %q (this kensa reads %q)", ErrSchema, *schema, Schema)
	}
	if err != nil {
		return nil, fmt.Errorf("bad %s record: %v", Schema, err)
	}
	rec.Schema = *schema
	if rec.Server.ID == "" {
		return nil, fmt.Errorf("bad %s record: no server id", Schema)
	}
	if rec.Items == nil {
		return nil, fmt.Errorf("bad %s record for %s: no items", Schema, rec.Server.ID)
	}
	for code, v := range rec.Items {
		if !v.Outcome.Valid() {
			return nil, fmt.Errorf("bad %s record for %s: item %s has outcome %q", Schema, rec.Server.ID, code, v.Outcome)
		}
	}
	return &rec, nil
}
