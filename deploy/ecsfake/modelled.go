package ecsfake

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/entryhq/entry/internal/awsmodel"
)

// The published API models (botocore's service-2.json, trimmed to the
// operations the fakes serve by internal/awsmodel/trimmodel). Every request
// a fake accepts and every response it writes is checked against them.
//
//go:embed testdata/ecs-2014-11-13.json testdata/events.json testdata/scheduler.json testdata/logs.json testdata/ecr.json
var models embed.FS

func loadModel(name string) *awsmodel.Model {
	data, err := models.ReadFile("testdata/" + name + ".json")
	if err != nil {
		panic(err)
	}
	m, err := awsmodel.Load(data)
	if err != nil {
		panic(name + ": " + err.Error())
	}
	return m
}

// modelled is what the EventBridge, Scheduler, CloudWatch Logs and ECR fakes
// share: an httptest server, the model, call counts, scripted throttling
// and the record of model violations.
type modelled struct {
	URL   string
	srv   *httptest.Server
	model *awsmodel.Model
	// errorPrefix qualifies error codes in awsJson bodies ("" for REST).
	errorPrefix string

	mu         sync.Mutex
	calls      map[string]int
	throttles  map[string]int
	faults     map[string]*fault
	violations []string
}

// A fault is trouble scripted for one operation: every call fails (or its
// connection is dropped) for a stretch of real time that starts with the
// first call after it was scripted.
type fault struct {
	err   *apiError // nil: drop the connection
	dur   time.Duration
	until time.Time // zero until the first call
	n     int       // calls it answered
}

// The server starts only once m is complete, so that no request (not even
// a stray one on a reused port) can race with its construction.
func newModelled(model, errorPrefix string, handler func(w http.ResponseWriter, r *http.Request)) *modelled {
	m := &modelled{model: loadModel(model), errorPrefix: errorPrefix, calls: map[string]int{}, throttles: map[string]int{}, faults: map[string]*fault{}}
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(handler))
	return m
}

// start serves the fake; its URL is known from then on.
func (m *modelled) start() {
	m.srv.Start()
	m.URL = m.srv.URL
}

// Close shuts the server down.
func (m *modelled) Close() { m.srv.Close() }

// Throttle makes the next n calls of op fail with ThrottlingException.
func (m *modelled) Throttle(op string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.throttles[op] = n
}

// FailFor makes every call of op fail with the error code at HTTP status
// (ConcurrentModificationException 400, ConflictException 409,
// InternalException 500, ...) for d of real time, counted from the first
// call of op from now on: the trouble meets the caller whenever it gets
// there.
func (m *modelled) FailFor(op string, status int, code, msg string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults[op] = &fault{err: &apiError{status, code, msg}, dur: d}
}

// DropFor makes the fake close the connection of every call of op without
// an answer (nothing acted on) for d, counted from the first call of op.
func (m *modelled) DropFor(op string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults[op] = &fault{dur: d}
}

// Faulted returns how many calls of op the scripted fault answered.
func (m *modelled) Faulted(op string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.faults[op]; f != nil {
		return f.n
	}
	return 0
}

// errDrop is begin's answer for a call whose connection is to be dropped.
var errDrop = &apiError{0, "", "connection dropped"}

// Calls returns the number of requests per operation, throttled ones
// included.
func (m *modelled) Calls() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, v := range m.calls {
		out[k] = v
	}
	return out
}

// Violations lists the requests and responses that did not match the API
// model; a test should expect none.
func (m *modelled) Violations() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.violations...)
}

// begin counts a call and applies the common checks; it returns the error
// to answer with, if any. m.mu is held.
func (m *modelled) begin(r *http.Request, op string, body []byte, bound map[string]string) *apiError {
	m.calls[op]++
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=") {
		return &apiError{403, "MissingAuthenticationTokenException", "request is not signed"}
	}
	if _, ok := m.model.Op(op); !ok {
		return &apiError{400, "UnknownOperationException", "no such operation " + op}
	}
	if err := m.model.CheckInput(op, body, bound); err != nil {
		m.violations = append(m.violations, err.Error())
		return &apiError{400, "ValidationException", err.Error()}
	}
	if m.throttles[op] > 0 {
		m.throttles[op]--
		return &apiError{400, "ThrottlingException", "Rate exceeded"}
	}
	if f := m.faults[op]; f != nil {
		now := time.Now()
		if f.until.IsZero() {
			f.until = now.Add(f.dur)
		}
		if now.Before(f.until) {
			f.n++
			if f.err == nil {
				return errDrop
			}
			e := *f.err
			return &e
		}
	}
	return nil
}

// reply writes out as the wire JSON of op, after checking it against the
// model: a fake that answers what AWS could not is a broken test.
func (m *modelled) reply(w http.ResponseWriter, op string, out any, pascal bool) {
	o, _ := m.model.Op(op)
	tree := wireNames(m.model, o.Output.Shape, toWire(reflect.ValueOf(out), pascal))
	body, err := json.Marshal(tree)
	if err == nil {
		err = m.model.CheckOutput(op, body)
	}
	if err != nil {
		m.violations = append(m.violations, err.Error())
		m.fail(w, &apiError{500, "InternalFailure", "fake: " + err.Error()})
		return
	}
	w.Write(body)
}

// fail writes an error the way the protocol does: awsJson puts the code in
// __type, REST-JSON in the X-Amzn-ErrorType header.
func (m *modelled) fail(w http.ResponseWriter, e *apiError) {
	if e == errDrop && hangUp(w) {
		return
	}
	w.Header().Set("X-Amzn-ErrorType", e.typ)
	w.WriteHeader(e.status)
	typ := e.typ
	if m.errorPrefix != "" {
		typ = m.errorPrefix + e.typ
	}
	fmt.Fprintf(w, `{"__type":%q,"message":%q,"Message":%q}`, typ, e.msg, e.msg)
}

// decodeInput decodes a request body into an SDK input struct, after
// turning the model's timestamps (epoch seconds on the wire) into what
// encoding/json reads into a time.Time.
func decodeInput[T any](model *awsmodel.Model, op string, body []byte) (*T, *apiError) {
	v := new(T)
	if len(bytes.TrimSpace(body)) == 0 {
		return v, nil
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	o, _ := model.Op(op)
	tree = timestamps(model, o.Input.Shape, tree)
	clean, _ := json.Marshal(tree)
	if err := json.Unmarshal(clean, v); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	return v, nil
}

// timestamps turns the epoch-seconds timestamps of a request into the
// RFC 3339 form the SDK's Go types decode from.
func timestamps(model *awsmodel.Model, shape string, v any) any {
	return reshape(model, shape, v, func(s *awsmodel.Shape, v any) any {
		if n, ok := v.(json.Number); ok && s.Type == "timestamp" {
			f, _ := n.Float64()
			return time.UnixMilli(int64(f * 1000)).UTC().Format(time.RFC3339Nano)
		}
		return v
	})
}

// reshape walks the JSON tree v along the model's shape, letting fix
// rewrite each node (a timestamp's value, a structure's member names)
// before its children are walked.
func reshape(model *awsmodel.Model, shape string, v any, fix func(s *awsmodel.Shape, v any) any) any {
	s := model.Shapes[shape]
	if s == nil {
		return v
	}
	v = fix(s, v)
	switch s.Type {
	case "structure":
		if obj, ok := v.(map[string]any); ok {
			for k, e := range obj {
				if r := s.Members[k]; r != nil {
					obj[k] = reshape(model, r.Shape, e, fix)
				}
			}
		}
	case "list":
		if arr, ok := v.([]any); ok {
			for i, e := range arr {
				arr[i] = reshape(model, s.Member.Shape, e, fix)
			}
		}
	case "map":
		if obj, ok := v.(map[string]any); ok {
			for k, e := range obj {
				obj[k] = reshape(model, s.Value.Shape, e, fix)
			}
		}
	}
	return v
}

// toWire converts an SDK output value into the JSON tree of a JSON
// protocol: member names as the Go field names (PascalCase, EventBridge and
// Scheduler) or with a lower-case first letter (CloudWatch Logs), absent
// members omitted, timestamps as epoch seconds.
func toWire(v reflect.Value, pascal bool) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return toWire(v.Elem(), pascal)
	case reflect.Struct:
		if v.Type() == timeType {
			return json.Number(fmt.Sprintf("%.3f", float64(v.Interface().(time.Time).UnixMilli())/1000))
		}
		m := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" || omit(v.Field(i)) {
				continue
			}
			name := f.Name
			if !pascal {
				name = lowerFirst(name)
			}
			m[name] = toWire(v.Field(i), pascal)
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = toWire(v.Index(i), pascal)
		}
		return out
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[k.String()] = toWire(v.MapIndex(k), pascal)
		}
		return m
	}
	return v.Interface()
}

// wireNames renames the members of v to the model's spelling, which the
// Go field names do not always follow (EventBridge's awsvpcConfiguration
// is AwsvpcConfiguration in Go); a member the model lacks keeps its name
// and fails the check.
func wireNames(model *awsmodel.Model, shape string, v any) any {
	return reshape(model, shape, v, func(s *awsmodel.Shape, v any) any {
		obj, ok := v.(map[string]any)
		if !ok || s.Type != "structure" {
			return v
		}
		out := map[string]any{}
		for k, e := range obj {
			name := k
			for member := range s.Members {
				if strings.EqualFold(member, k) {
					name = member
				}
			}
			out[name] = e
		}
		return out
	})
}

func readBody(r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(r.Body)
	return b, err == nil
}
