package input

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// schemaFile is the JSON Schema of the document that the policies are
// type-checked against (opa check --strict -s policies/schemas/input.json).
const schemaFile = "../../policies/schemas/input.json"

type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 any                `json:"type"`
	Properties           map[string]*schema `json:"properties"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"`
	Required             []string           `json:"required"`
	Items                *schema            `json:"items"`
	AnyOf                []*schema          `json:"anyOf"`
	Enum                 []string           `json:"enum"`
	Definitions          map[string]*schema `json:"definitions"`
}

func loadSchema(t *testing.T) *schema {
	t.Helper()
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	return &s
}

// TestSchemaMatchesTypes walks the Go types of Document and the schema
// together: every JSON field is in the schema with a compatible type, the
// schema has no property the document lacks, objects are closed, and a
// field is nullable exactly when it is a pointer.
func TestSchemaMatchesTypes(t *testing.T) {
	root := loadSchema(t)
	c := schemaChecker{t: t, root: root}
	c.check("input", reflect.TypeFor[Document](), root, false)
	if c.checked < 60 {
		t.Errorf("checked only %d fields", c.checked)
	}
}

// TestSchemaEnums checks the enums of the schema against the constants.
func TestSchemaEnums(t *testing.T) {
	root := loadSchema(t)
	use := root.Definitions["use"].Properties
	refs := root.Properties["secrets"].Properties["refs"].Items.Properties
	step := root.Definitions["job"].Properties["steps"].Items.Properties
	for _, tt := range []struct {
		name string
		got  []string
		want []string
	}{
		{"use.kind", use["kind"].Enum, []string{KindAction, KindReusableWorkflow, KindDocker, KindLocal}},
		{"use.ref_type", use["ref_type"].Enum, []string{RefSHA, RefTagOrBranch, RefNone}},
		{"secrets.refs.context", refs["context"].Enum, []string{CtxEnv, CtxWith, CtxRun, CtxIf, CtxSecrets, CtxCredentials, CtxOther}},
		{"jobs.steps.control", step["control"].Enum, append([]string{""}, controls...)},
	} {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s enum = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

type schemaChecker struct {
	t       *testing.T
	root    *schema
	checked int
}

func (c *schemaChecker) resolve(s *schema) *schema {
	for s != nil && s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/definitions/")
		if !ok || c.root.Definitions[name] == nil {
			c.t.Fatalf("unknown $ref %q", s.Ref)
		}
		s = c.root.Definitions[name]
	}
	return s
}

// check compares Go type typ with schema s at path. A pointer must be
// nullable (anyOf with {"type": "null"}), anything else must not be.
func (c *schemaChecker) check(path string, typ reflect.Type, s *schema, inMap bool) {
	c.checked++
	s = c.resolve(s)
	if s == nil {
		c.t.Errorf("%s: no schema", path)
		return
	}
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
		if inMap { // map values are never nil in a document
			c.check(path, typ, s, false)
			return
		}
		var inner *schema
		nullable := false
		for _, alt := range s.AnyOf {
			if alt.Type == "null" {
				nullable = true
			} else {
				inner = alt
			}
		}
		if !nullable || len(s.AnyOf) != 2 {
			c.t.Errorf("%s: pointer field, want anyOf [<type>, {\"type\": \"null\"}]", path)
			return
		}
		c.check(path, typ, inner, false)
		return
	}
	if s.AnyOf != nil {
		c.t.Errorf("%s: non-pointer field has anyOf (nullable?) in the schema", path)
		return
	}
	want := map[reflect.Kind]string{
		reflect.String: "string", reflect.Bool: "boolean", reflect.Int: "integer", reflect.Int64: "integer",
		reflect.Slice: "array", reflect.Map: "object", reflect.Struct: "object",
	}[typ.Kind()]
	if want == "" {
		c.t.Errorf("%s: Go kind %s has no JSON Schema type here", path, typ.Kind())
		return
	}
	if s.Type != want {
		c.t.Errorf("%s: schema type %v, Go type %s wants %q", path, s.Type, typ, want)
		return
	}
	switch typ.Kind() {
	case reflect.Slice:
		if s.Items == nil {
			c.t.Errorf("%s: array without items", path)
			return
		}
		c.check(path+"[]", typ.Elem(), s.Items, false)
	case reflect.Map:
		var values schema
		if len(s.Properties) > 0 || json.Unmarshal(s.AdditionalProperties, &values) != nil {
			c.t.Errorf("%s: map wants additionalProperties with a schema and no properties", path)
			return
		}
		c.check(path+".*", typ.Elem(), &values, true)
	case reflect.Struct:
		if string(s.AdditionalProperties) != "false" {
			c.t.Errorf("%s: object without \"additionalProperties\": false", path)
		}
		fields := map[string]bool{}
		var required []string
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				c.t.Errorf("%s.%s: field without a json name", path, f.Name)
				continue
			}
			fields[name] = true
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
			p, ok := s.Properties[name]
			if !ok {
				c.t.Errorf("%s.%s: missing from the schema", path, name)
				continue
			}
			c.check(path+"."+name, f.Type, p, false)
		}
		for name := range s.Properties {
			if !fields[name] {
				c.t.Errorf("%s.%s: in the schema but not in the document", path, name)
			}
		}
		slices.Sort(required)
		got := slices.Sorted(slices.Values(s.Required))
		if !slices.Equal(got, required) {
			c.t.Errorf("%s: required = %v, want %v", path, got, required)
		}
	}
}
