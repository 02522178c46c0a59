package inventory

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"

	"github.com/kensa-inspect/kensa/scoring"
)

// MaxFileSize is the largest inventory Load reads. A government-wide
// inventory of 1,900 servers is a few hundred kilobytes.
const MaxFileSize = 32 << 20

// Encodings reported in Inventory.Encoding.
const (
	EncodingUTF8    = "utf-8"
	EncodingUTF8BOM = "utf-8-bom"
	EncodingSJIS    = "shift_jis"
)

// Formats reported in Inventory.Format.
const (
	FormatCSV  = "csv"
	FormatYAML = "yaml"
)

// Load reads and validates the inventory in the file at path, checking
// declared item codes against the built-in mail-server catalog. The format
// follows the extension (.csv, .yaml, .yml) and is sniffed from the
// content otherwise; the encoding (UTF-8 with or without BOM, or
// Shift_JIS/CP932) is detected. An inventory with any bad row is refused
// whole with an *Error naming every problem; a file that cannot be read
// gives the error of the file system.
func Load(path string) (*Inventory, error) {
	return LoadWith(path, scoring.MailCatalog)
}

// LoadWith is Load with the catalog whose item codes a declared column
// may name.
func LoadWith(path string, cat *scoring.Catalog) (*Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("read inventory: %s is a directory", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("read inventory: %s is larger than %d MiB; is it really an inventory?", path, MaxFileSize>>20)
	}
	return ParseWith(path, data, cat)
}

// Parse validates an inventory held in memory. name is used in problems
// and as Inventory.Path, and its extension chooses the format as in Load.
func Parse(name string, data []byte) (*Inventory, error) {
	return ParseWith(name, data, scoring.MailCatalog)
}

// ParseWith is Parse with the catalog whose item codes a declared column
// may name.
func ParseWith(name string, data []byte, cat *scoring.Catalog) (*Inventory, error) {
	if cat == nil {
		cat = scoring.MailCatalog
	}
	sum := sha256.Sum256(data)
	inv := &Inventory{Path: name, Digest: "sha256:" + hex.EncodeToString(sum[:])}
	ps := &problems{file: name}
	text, enc, ok := decode(ps, data)
	if !ok {
		return nil, ps.err()
	}
	inv.Encoding = enc
	inv.Format = detectFormat(name, text)
	v := newValidator(ps, cat)
	if inv.Format == FormatYAML {
		parseYAML(v, text)
	} else {
		parseCSV(v, text)
	}
	if len(ps.list) == 0 && len(v.servers) == 0 {
		ps.add(1, 1, "file", "no servers in the inventory")
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	inv.Servers = v.servers
	inv.byID = make(map[string]int, len(v.servers))
	for i, s := range v.servers {
		inv.byID[s.ID] = i
	}
	return inv, nil
}

// detectFormat chooses CSV or YAML by the file's extension, or failing
// that by its first significant line.
func detectFormat(name, text string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return FormatCSV
	case ".yaml", ".yml":
		return FormatYAML
	}
	for line := range strings.Lines(text) {
		l := strings.TrimSpace(line)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if l == "---" || l == "-" || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "%YAML") ||
			strings.HasPrefix(l, "servers:") || strings.HasPrefix(l, "[") {
			return FormatYAML
		}
		return FormatCSV
	}
	return FormatCSV
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decode turns the file's bytes into UTF-8 text without BOM and says
// which encoding they were in. It records a problem and returns ok false
// when the bytes are not text in a supported encoding.
func decode(ps *problems, data []byte) (text, enc string, ok bool) {
	if len(bytes.TrimSpace(data)) == 0 {
		ps.add(1, 1, "file", "the file is empty")
		return "", "", false
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		ps.add(1, 1, "encoding", "UTF-16 is not supported: save the sheet as \"CSV UTF-8 (コンマ区切り)\" or \"CSV (コンマ区切り)\"")
		return "", "", false
	}
	switch {
	case bytes.HasPrefix(data, utf8BOM):
		body := data[len(utf8BOM):]
		if !utf8.Valid(body) {
			line, col, b := firstInvalid(body)
			ps.add(line, col, "encoding", "invalid UTF-8 (byte 0x%02X) in a file that starts with a UTF-8 byte-order mark", b)
			return "", "", false
		}
		text, enc = string(body), EncodingUTF8BOM
	case utf8.Valid(data):
		text, enc = string(data), EncodingUTF8
	default:
		dec, err := japanese.ShiftJIS.NewDecoder().Bytes(data)
		if err != nil {
			line, col, b := firstInvalid(data)
			ps.add(line, col, "encoding", "invalid UTF-8 (byte 0x%02X), and the file does not decode as Shift_JIS (CP932) either: %v", b, err)
			return "", "", false
		}
		if i := uncleanSJIS(dec); i >= 0 {
			line, col := position(string(dec[:i]))
			ps.add(line, col, "encoding", "neither UTF-8 nor Shift_JIS (CP932): the bytes here decode as neither; save the file as UTF-8, or as \"CSV (コンマ区切り)\" from Excel")
			return "", "", false
		}
		text, enc = string(dec), EncodingSJIS
	}
	if i := strings.IndexByte(text, 0); i >= 0 {
		line, col := position(text[:i])
		ps.add(line, col, "encoding", "NUL byte: this is not a text file")
		return "", "", false
	}
	return text, enc, true
}

// uncleanSJIS returns the byte offset of the first rune in the output of
// the Shift_JIS decoder that betrays bytes that are not Shift_JIS: a
// replacement character (an undecodable byte) or a C1 control character
// (bytes 0x80 and 0xA0, which no spreadsheet writes); -1 if there is none.
func uncleanSJIS(b []byte) int {
	for i, r := range string(b) {
		if r == utf8.RuneError || (r >= 0x80 && r <= 0x9F) {
			return i
		}
	}
	return -1
}

// firstInvalid returns the line and column (in runes, invalid bytes
// counting one each) of the first byte of data that is not valid UTF-8,
// and that byte.
func firstInvalid(data []byte) (line, col int, b byte) {
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line, col, data[i]
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return line, col, 0
}

// position returns the line and column just after text.
func position(text string) (line, col int) {
	line, col = 1, 1
	for _, r := range text {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
