package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// Writer appends records to a results file, one line per record, each in
// a single write so that a crash leaves at most the last line cut. It is
// safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	f   *os.File // when writing to a file, synced on Close
	n   int
	err error
}

// NewWriter returns a writer appending to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Append opens path for appending (creating it) and returns a writer.
func Append(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &Writer{w: f, f: f}, nil
}

// Encode marshals one record as a line, without writing it.
func Encode(r *Record) ([]byte, error) {
	if r.Schema == "" {
		r.Schema = Schema
	}
	if len(r.Observations) == 0 {
		r.Observations = json.RawMessage("{}")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encoding record of %s: %w", r.Server.ID, err)
	}
	return buf.Bytes(), nil
}

// Write appends one record.
func (w *Writer) Write(r *Record) error {
	line, err := Encode(r)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if _, err := w.w.Write(line); err != nil {
		w.err = fmt.Errorf("writing results: %w", err)
		return w.err
	}
	w.n++
	return nil
}

// Count returns how many records were written.
func (w *Writer) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Close syncs and closes the file, if the writer owns one.
func (w *Writer) Close() error {
	if w.f == nil {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

// TruncateIncomplete cuts path after its last complete line (a record
// ending in a newline), so that a scan can append after a crash. It
// returns how many bytes were cut. A missing file is not an error.
func TruncateIncomplete(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	// Scan backwards for the last newline.
	const chunk = 64 << 10
	end := size
	for end > 0 {
		start := end - chunk
		if start < 0 {
			start = 0
		}
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			keep := start + int64(i) + 1
			if keep == size {
				return 0, nil
			}
			return size - keep, f.Truncate(keep)
		}
		end = start
	}
	return size, f.Truncate(0)
}

// ExistsError reports a results file that is there already where a new
// scan would start one: going on with it (a resume) or replacing it is
// the operator's explicit choice.
type ExistsError struct {
	// Path is the results file.
	Path string
}

func (e *ExistsError) Error() string { return fmt.Sprintf("results file %s exists", e.Path) }

// CheckNew checks, before anything is changed, that a new scan may
// write its results to path: a file there already is an *ExistsError.
// A path that cannot be examined is left for Append to report.
func CheckNew(path string) error {
	if _, err := os.Stat(path); err == nil {
		return &ExistsError{Path: path}
	}
	return nil
}
