// Package ssmfake is a fake AWS Systems Manager Parameter Store endpoint for
// tests: an httptest server speaking SSM's awsJson1_1 protocol
// (X-Amz-Target: AmazonSSM.GetParameter), reached by the real
// aws-sdk-go-v2 ssm client through its BaseEndpoint or
// AWS_ENDPOINT_URL_SSM. It is not used by entry itself.
package ssmfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// A Parameter is one stored parameter.
type Parameter struct {
	Value string
	Type  string // "SecureString" (default), "String"
}

// Server is a running fake SSM endpoint.
type Server struct {
	*httptest.Server

	mu     sync.Mutex
	params map[string]Parameter
	deny   map[string]bool
	calls  []Call
}

// A Call records one request the fake answered.
type Call struct {
	Target         string // e.g. "AmazonSSM.GetParameter"
	Name           string
	WithDecryption bool
	Signed         bool   // carried a SigV4 Authorization header
	AccessKeyID    string // from the Authorization header
}

// New starts a fake on 127.0.0.1; it is closed when the test ends through
// the returned server's Close.
func New() *Server {
	s := &Server{params: map[string]Parameter{}, deny: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Put stores a parameter.
func (s *Server) Put(name string, p Parameter) {
	if p.Type == "" {
		p.Type = "SecureString"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params[name] = p
}

// Deny makes GetParameter on name fail with AccessDeniedException.
func (s *Server) Deny(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny[name] = true
}

// Calls returns the requests answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var in struct {
		Name           string
		WithDecryption bool
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", "bad JSON body")
		return
	}
	auth := r.Header.Get("Authorization")
	call := Call{Target: target, Name: in.Name, WithDecryption: in.WithDecryption, Signed: strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ")}
	if _, after, ok := strings.Cut(auth, "Credential="); ok {
		call.AccessKeyID, _, _ = strings.Cut(after, "/")
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	p, found := s.params[in.Name]
	denied := s.deny[in.Name]
	s.mu.Unlock()

	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "want POST application/x-amz-json-1.1")
		return
	}
	if target != "AmazonSSM.GetParameter" {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "the fake only answers GetParameter, not "+target)
		return
	}
	if !call.Signed {
		writeError(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "request is not signed")
		return
	}
	switch {
	case denied:
		writeError(w, http.StatusBadRequest, "AccessDeniedException",
			fmt.Sprintf("User: arn:aws:sts::123456789012:assumed-role/task is not authorized to perform: ssm:GetParameter on resource: parameter%s", in.Name))
		return
	case !found:
		writeError(w, http.StatusBadRequest, "ParameterNotFound", "")
		return
	}
	value := p.Value
	if p.Type == "SecureString" && !in.WithDecryption {
		value = "AQICAHh-ciphertext-blob-not-decrypted" // what SSM returns without WithDecryption
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{
		"Parameter": map[string]any{
			"Name":     in.Name,
			"Type":     p.Type,
			"Value":    value,
			"Version":  1,
			"DataType": "text",
			"ARN":      "arn:aws:ssm:us-east-1:123456789012:parameter" + in.Name,
		},
	})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.ssm#" + code, "message": msg})
}
