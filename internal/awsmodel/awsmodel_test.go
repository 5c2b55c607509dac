package awsmodel

import (
	"strings"
	"testing"
)

const tiny = `{
 "metadata": {"protocol": "rest-json", "serviceId": "Tiny"},
 "operations": {
  "Put": {"name": "Put", "http": {"method": "PUT", "requestUri": "/things/{Name}"}, "input": {"shape": "PutIn"}, "output": {"shape": "PutOut"}}
 },
 "shapes": {
  "PutIn": {"type": "structure", "required": ["Name", "Kind"], "members": {
    "Name": {"shape": "Str", "location": "uri", "locationName": "Name"},
    "Token": {"shape": "Str", "idempotencyToken": true},
    "Kind": {"shape": "Kind"}, "Count": {"shape": "Int"}, "At": {"shape": "Time"},
    "Tags": {"shape": "TagList"}, "Attrs": {"shape": "Attrs"}, "On": {"shape": "Bool"}, "Data": {"shape": "Blob"}}},
  "PutOut": {"type": "structure", "required": ["Arn"], "members": {"Arn": {"shape": "Str"}}},
  "Str": {"type": "string", "min": 1},
  "Kind": {"type": "string", "enum": ["A", "B"]},
  "Int": {"type": "integer", "min": 0, "max": 10},
  "Time": {"type": "timestamp"},
  "Bool": {"type": "boolean"},
  "Blob": {"type": "blob"},
  "TagList": {"type": "list", "member": {"shape": "Tag"}, "max": 2},
  "Tag": {"type": "structure", "required": ["Key"], "members": {"Key": {"shape": "Str"}, "Value": {"shape": "Str"}}},
  "Attrs": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Int"}}
 }
}`

func TestCheck(t *testing.T) {
	m, err := Load([]byte(tiny))
	if err != nil {
		t.Fatal(err)
	}
	name := map[string]string{"Name": "x"}
	ok := `{"Kind":"A","Count":3,"At":1700000000.5,"Tags":[{"Key":"k","Value":"v"}],"Attrs":{"a":1},"On":true}`
	if err := m.CheckInput("Put", []byte(ok), name); err != nil {
		t.Errorf("valid request: %v", err)
	}
	for _, c := range []struct {
		body  string
		bound map[string]string
		want  string
	}{
		{`{"Kind":"A","Colour":"red"}`, name, `Put request: unknown member "Colour" of PutIn`},
		{`{"Kind":"C"}`, name, `Put request.Kind: "C" is not a value of enum Kind (A, B)`},
		{`{"Kind":"A","Count":"3"}`, name, `Put request.Count: Int wants a whole number, got the string "3"`},
		{`{"Kind":"A","Count":1.5}`, name, `Put request.Count: Int wants a whole number, got the number 1.5`},
		{`{"Kind":"A","Count":11}`, name, `outside the range of Int`},
		{`{"Kind":"A","At":"2026-01-01"}`, name, `Put request.At: Time wants epoch seconds`},
		{`{"Kind":"A","Tags":[{"Value":"v"}]}`, name, `Put request.Tags[0]: missing required member Key of Tag`},
		{`{"Kind":"A","Tags":[{"Key":"a"},{"Key":"b"},{"Key":"c"}]}`, name, `at most 2 allowed`},
		{`{"Kind":"A","Attrs":{"a":"1"}}`, name, `Put request.Attrs.a: Int wants a whole number`},
		{`{"Kind":"A","On":"yes"}`, name, `Put request.On: Bool wants true or false`},
		{`{"Kind":"A"}`, nil, `Put request: missing required member Name of PutIn`},
		{`{"Kind":"A","Name":"x"}`, name, `member Name is bound to the uri, not the body`},
		{`{"Kind":"A"}`, map[string]string{"Name": "x", "Kind": "A"}, `Kind is not a member bound to the URI`},
		{`[1]`, name, `want a JSON object, got an array`},
		{`{`, name, `not JSON`},
		{`{"Kind":"A","Token":""}`, name, `shorter than 1`},
		{`{"Kind":"A","Token":null}`, name, `Put request.Token: null where Str (string) goes`},
		{`{"Kind":"A","Count":3000000000}`, name, `3000000000 does not fit the 32-bit integer Int`},
		{`{"Kind":"A","Data":"aGk="}`, name, ``},
		{`{"Kind":"A","Data":"not base64!"}`, name, `"not base64!" is not base64, which blob Blob wants`},
	} {
		err := m.CheckInput("Put", []byte(c.body), c.bound)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.body, err, c.want)
		}
	}
	if err := m.CheckOutput("Put", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "missing required member Arn") {
		t.Errorf("output without Arn: %v", err)
	}
	// Every violation is named, not only the first.
	err = m.CheckInput("Put", []byte(`{"Colour":"red","Count":"3"}`), name)
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 3 || !strings.Contains(err.Error(), "Colour") || !strings.Contains(err.Error(), "Count") || !strings.Contains(err.Error(), "missing required member Kind") {
		t.Errorf("%d errors: %v", n, err)
	}
	if err := m.CheckInput("Get", nil, nil); err == nil || !strings.Contains(err.Error(), "Get: no such operation in the Tiny model") {
		t.Errorf("unknown op: %v", err)
	}
}

// Broken models are refused with the dangling reference named.
func TestLoadRefusesBrokenModels(t *testing.T) {
	if _, err := Load([]byte(`{"operations":{}}`)); err == nil {
		t.Error("an empty model loaded")
	}
	if _, err := Load([]byte(`{"operations":{"X":{"input":{"shape":"Nope"}}},"shapes":{"A":{"type":"string"}}}`)); err == nil || !strings.Contains(err.Error(), "no shape Nope") {
		t.Errorf("dangling shape: %v", err)
	}
	if _, err := Load([]byte(`{"operations":{"X":{"input":{"shape":"A"}}},"shapes":{"A":{"type":"structure","members":{"B":{"shape":"Nope"}}}}}`)); err == nil || !strings.Contains(err.Error(), "A.B refers to no shape Nope") {
		t.Errorf("dangling member: %v", err)
	}
	if _, err := Load([]byte(`{"operations":{"X":{"input":{"shape":"A"}}},"shapes":{"A":{"type":"list","member":{"shape":"Nope"}}}}`)); err == nil || !strings.Contains(err.Error(), "shape A refers to no shape Nope") {
		t.Errorf("dangling list member: %v", err)
	}
}

func FuzzCheckInput(f *testing.F) {
	m, err := Load([]byte(tiny))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{`{"Kind":"A"}`, `{"Kind":"B","Tags":[{"Key":"k"}],"Attrs":{"x":2}}`, `{"At":1e999}`, `null`, `{"Tags":{}}`, `{"Kind":null}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// Never panics; a body that passes has the required member.
		if m.CheckInput("Put", body, map[string]string{"Name": "n"}) == nil && !strings.Contains(string(body), "Kind") && !strings.Contains(string(body), `\u`) {
			t.Errorf("%s passed without Kind", body)
		}
	})
}
