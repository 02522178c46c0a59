package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kensa-inspect/kensa/scoring"
)

const schemaFile = "kensa-v1.schema.json"

// schemaNode is the part of a JSON Schema the type check reads.
type schemaNode struct {
	Ref                  string                 `json:"$ref"`
	Type                 string                 `json:"type"`
	Format               string                 `json:"format"`
	Const                any                    `json:"const"`
	Enum                 []string               `json:"enum"`
	Required             []string               `json:"required"`
	Properties           map[string]*schemaNode `json:"properties"`
	Items                *schemaNode            `json:"items"`
	AdditionalProperties *schemaNode            `json:"additionalProperties"`
	Defs                 map[string]*schemaNode `json:"$defs"`
}

func loadSchemaNode(t *testing.T) *schemaNode {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var root schemaNode
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	return &root
}

// jsonFields returns the JSON fields of a struct type, embedded structs
// flattened: name → (type, omitempty).
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

var (
	timeType    = reflect.TypeOf(time.Time{})
	rawType     = reflect.TypeOf(json.RawMessage(nil))
	outcomeType = reflect.TypeOf(scoring.Outcome(""))
	sourceType  = reflect.TypeOf(scoring.Source(""))
)

// checkType compares a Go type with the schema node that describes it,
// both ways for structs: every JSON field of the type is a property, every
// property a field, and the required properties are exactly the fields
// kensa always writes (those without omitempty).
func checkType(t *testing.T, root *schemaNode, path string, typ reflect.Type, n *schemaNode) {
	t.Helper()
	if n == nil {
		t.Errorf("%s: not in the schema", path)
		return
	}
	if n.Ref != "" {
		n = root.Defs[strings.TrimPrefix(n.Ref, "#/$defs/")]
		if n == nil {
			t.Errorf("%s: dangling $ref", path)
			return
		}
	}
	switch {
	case typ == timeType:
		if n.Type != "string" || n.Format != "date-time" {
			t.Errorf("%s: a time is a date-time string, schema says %s/%s", path, n.Type, n.Format)
		}
	case typ == rawType:
		if n.Type != "object" {
			t.Errorf("%s: raw observations are an object, schema says %q", path, n.Type)
		}
	case typ == outcomeType:
		if !slices.Equal(n.Enum, []string{"pass", "fail", "unknown", "na"}) {
			t.Errorf("%s: outcome enum %q", path, n.Enum)
		}
	case typ == sourceType:
		if !slices.Equal(n.Enum, []string{string(scoring.FromProbe), string(scoring.FromDeclared)}) {
			t.Errorf("%s: source enum %q", path, n.Enum)
		}
	case typ.Kind() == reflect.String:
		if n.Type != "string" && n.Const == nil {
			t.Errorf("%s: string, schema says %q", path, n.Type)
		}
	case typ.Kind() == reflect.Int || typ.Kind() == reflect.Int64:
		if n.Type != "integer" {
			t.Errorf("%s: integer, schema says %q", path, n.Type)
		}
	case typ.Kind() == reflect.Bool:
		if n.Type != "boolean" {
			t.Errorf("%s: boolean, schema says %q", path, n.Type)
		}
	case typ.Kind() == reflect.Pointer:
		// An optional object (omitempty): described as its element.
		checkType(t, root, path, typ.Elem(), n)
	case typ.Kind() == reflect.Slice:
		if n.Type != "array" {
			t.Errorf("%s: array, schema says %q", path, n.Type)
			return
		}
		checkType(t, root, path+"[]", typ.Elem(), n.Items)
	case typ.Kind() == reflect.Map:
		if n.Type != "object" {
			t.Errorf("%s: object, schema says %q", path, n.Type)
			return
		}
		checkType(t, root, path+"{}", typ.Elem(), n.AdditionalProperties)
	case typ.Kind() == reflect.Struct:
		if n.Type != "object" {
			t.Errorf("%s: object, schema says %q", path, n.Type)
			return
		}
		fields := jsonFields(typ)
		var always []string
		for name, f := range fields {
			checkType(t, root, path+"."+name, f.Type, n.Properties[name])
			if !strings.Contains(f.Tag.Get("json"), "omitempty") {
				always = append(always, name)
			}
		}
		for name := range n.Properties {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s.%s: in the schema, not in the Go type %s", path, name, typ)
			}
		}
		req := slices.Clone(n.Required)
		sort.Strings(req)
		sort.Strings(always)
		if !slices.Equal(req, always) {
			t.Errorf("%s: schema requires %q, %s always writes %q", path, req, typ, always)
		}
	default:
		t.Errorf("%s: Go kind %s not covered by the check", path, typ.Kind())
	}
}

// TestSchemaMatchesGoTypes: the JSON Schema of kensa/v1 describes exactly
// the fields of Record, ScanMeta, ServerRef and scoring.Verdict.
func TestSchemaMatchesGoTypes(t *testing.T) {
	root := loadSchemaNode(t)
	checkType(t, root, "record", reflect.TypeOf(Record{}), root)
	if root.Properties["schema"] == nil || root.Properties["schema"].Const != Schema {
		t.Errorf("schema const %v, want %q", root.Properties["schema"], Schema)
	}
}

// TestSchemaValidatesRecords: the sample results, a record as Encode
// writes it (the empty evidence list and observations included) and a
// record with every optional field validate; records that break the
// contract do not.
func TestSchemaValidatesRecords(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	validate := func(name string, line []byte) error {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return sch.Validate(v)
	}
	f, err := os.Open("../testdata/sample-results.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, MaxRecordBytes)
	n := 0
	for sc.Scan() {
		n++
		if err := validate("sample line", sc.Bytes()); err != nil {
			t.Errorf("sample-results.jsonl:%d: %v", n, err)
		}
	}
	if n == 0 {
		t.Fatal("no sample records")
	}
	full := rec("full", scoring.Fail)
	full.Started = time.Date(2026, 11, 1, 1, 2, 3, 0, time.UTC)
	full.Scan.Scope = "192.0.2.0/24"
	full.Scan.AsOf = "2026-11-01"
	full.Scan.Shard = &Shard{Index: 1, Count: 4, By: "org"}
	full.Server.Addresses = []string{"192.0.2.1", "2001:db8::1"}
	full.Server.Services = []string{"smtp:25"}
	full.Server.Declared = map[string]scoring.Outcome{"A1": scoring.Pass}
	full.Items["A1"] = scoring.Combine(full.Items["A1"], scoring.Pass)
	full.Items["M2"] = scoring.Verdict{Outcome: scoring.Unknown, Source: scoring.FromProbe, Reason: "r", Exception: "x: CVE-1 until 2027-01-01"}
	full.Undeclared = []string{"imap:143"}
	full.Findings = []string{"expired exception ignored: x"}
	for name, r := range map[string]*Record{"minimal": rec("min", scoring.Pass), "full": full} {
		line, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(name, line); err != nil {
			t.Errorf("%s record: %v\n%s", name, err, line)
		}
	}
	good, _ := Encode(rec("bad", scoring.Pass))
	for name, bad := range map[string]string{
		"other schema":    strings.Replace(string(good), `"kensa/v1"`, `"kensa/v2"`, 1),
		"bad outcome":     strings.Replace(string(good), `"outcome":"pass"`, `"outcome":"ok"`, 1),
		"no server id":    strings.Replace(string(good), `"id":"bad",`, ``, 1),
		"duration string": strings.Replace(string(good), `"duration_ms":0`, `"duration_ms":"0"`, 1),
		"bad start":       strings.Replace(string(good), `"started":"0001-01-01T00:00:00Z"`, `"started":"yesterday"`, 1),
	} {
		if bad == string(good) {
			t.Fatalf("%s: the mutation changed nothing", name)
		}
		if validate(name, []byte(bad)) == nil {
			t.Errorf("%s: validates", name)
		}
	}
}
