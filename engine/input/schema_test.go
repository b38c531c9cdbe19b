package input

import (
	"encoding/json"
	"maps"
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
		{"permission_level", root.Definitions["permission_level"].Enum, []string{PermissionRead, PermissionWrite, PermissionNone}},
		{"all_permissions", root.Definitions["all_permissions"].AnyOf[0].Enum, []string{PermissionReadAll, PermissionWriteAll}},
		{"jobs.permissions.source", root.Definitions["job"].Properties["permissions"].Properties["source"].Enum, []string{PermissionsJob, PermissionsWorkflow, PermissionsDefault}},
		{"scopes", slices.Sorted(maps.Keys(root.Definitions["scopes"].Properties)), PermissionScopes},
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
		if inner := c.nullable(path, s); inner != nil {
			c.check(path, typ, inner, false)
		}
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
		if json.Unmarshal(s.AdditionalProperties, &values) != nil {
			c.t.Errorf("%s: map wants additionalProperties with a schema", path)
			return
		}
		// Properties may name the keys known in advance, with the schema
		// of every other key.
		for key, p := range s.Properties {
			if a, b := mustJSON(c.t, p), mustJSON(c.t, &values); a != b {
				c.t.Errorf("%s.%s: %s, want the map's additionalProperties %s", path, key, a, b)
			}
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
			switch {
			case f.Type.Kind() == reflect.Interface:
				c.union(path+"."+name, f.Tag.Get("union"), p)
			case f.Tag.Get("nullable") == "true":
				// A map or slice that is nil in some documents.
				if inner := c.nullable(path+"."+name, p); inner != nil {
					c.check(path+"."+name, f.Type, inner, false)
				}
			default:
				c.check(path+"."+name, f.Type, p, false)
			}
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

// nullable returns the schema of a nullable field without its null, and
// reports a schema that is not anyOf [<type>, {"type": "null"}].
func (c *schemaChecker) nullable(path string, s *schema) *schema {
	s = c.resolve(s)
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
		c.t.Errorf("%s: nullable field, want anyOf [<type>, {\"type\": \"null\"}]", path)
		return nil
	}
	return inner
}

// union checks a field of Go type any whose union tag lists the JSON
// types it takes against the schema's anyOf.
func (c *schemaChecker) union(path, tag string, s *schema) {
	c.checked++
	s = c.resolve(s)
	var types []string
	for _, alt := range s.AnyOf {
		t, _ := alt.Type.(string)
		types = append(types, t)
	}
	if tag == "" || strings.Join(types, ",") != tag {
		c.t.Errorf("%s: schema anyOf types %v, want the field's union tag %q", path, types, tag)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
