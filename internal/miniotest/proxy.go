package miniotest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// A FaultKind is what a Proxy does to one client connection.
type FaultKind int

const (
	// Pass forwards the connection unchanged.
	Pass FaultKind = iota
	// Unavailable answers the first request with HTTP 503 and the S3
	// error code ServiceUnavailable, then closes the connection, without
	// reaching the server.
	Unavailable
	// Stall forwards the request, then forwards the response's headers and
	// its first AfterBody body bytes and sends nothing more, holding the
	// connection open until the client gives up.
	Stall
	// Cut is Stall, but closes the connection instead of holding it.
	Cut
	// Hang reads the request and never answers, holding the connection
	// open until the client gives up.
	Hang
)

// A Fault says what to do to a connection.
type Fault struct {
	Kind      FaultKind
	AfterBody int // Stall and Cut: body bytes let through first
}

// A Proxy is a TCP proxy in front of a server that injects faults the way a
// real network or an overloaded S3 does: a 503, a body that stops mid-way, a
// connection reset mid-body. The client sees them through its ordinary
// HTTP stack.
type Proxy struct {
	// Endpoint is the proxy's base URL, http://127.0.0.1:PORT.
	Endpoint string

	upstream string
	ln       net.Listener
	conns    atomic.Int64
	fault    func(n int) Fault

	mu      sync.Mutex
	open    map[net.Conn]struct{}
	closing chan struct{}
	wg      sync.WaitGroup
}

// NewProxy starts a proxy to upstream (host:port) that applies fault(n) to
// the n-th client connection (counting from 1). It stops when t ends.
func NewProxy(t testing.TB, upstream string, fault func(n int) Fault) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{
		Endpoint: "http://" + ln.Addr().String(),
		upstream: upstream,
		ln:       ln,
		fault:    fault,
		open:     map[net.Conn]struct{}{},
		closing:  make(chan struct{}),
	}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Connections returns how many client connections the proxy accepted.
func (p *Proxy) Connections() int { return int(p.conns.Load()) }

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() {
	select {
	case <-p.closing:
		return
	default:
	}
	close(p.closing)
	p.ln.Close()
	p.mu.Lock()
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closing:
		c.Close()
		return false
	default:
	}
	p.open[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		n := int(p.conns.Add(1))
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.handle(c, p.fault(n))
		}()
	}
}

func (p *Proxy) handle(client net.Conn, f Fault) {
	if f.Kind == Unavailable {
		readHeader(client)
		body := `<?xml version="1.0" encoding="UTF-8"?>` +
			`<Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>`
		fmt.Fprintf(client, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"+
			"Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		return
	}
	if f.Kind == Hang {
		io.Copy(io.Discard, client)
		return
	}
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	go func() {
		io.Copy(server, client)
		// The client is gone: end the server side too.
		server.Close()
	}()
	if f.Kind == Pass {
		io.Copy(client, server)
		return
	}
	copyResponsePrefix(client, server, f.AfterBody)
	if f.Kind == Stall {
		// Hold the connection open, sending nothing, until the client or
		// Close ends it.
		io.Copy(io.Discard, server)
		<-p.closing
	}
}

// readHeader consumes an HTTP request header from c.
func readHeader(c net.Conn) {
	var seen []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(seen, []byte("\r\n\r\n")) {
		n, err := c.Read(buf)
		seen = append(seen, buf[:n]...)
		if err != nil {
			return
		}
	}
}

// copyResponsePrefix copies from server to client the response header and
// then at most bodyBytes body bytes.
func copyResponsePrefix(client, server net.Conn, bodyBytes int) {
	var seen []byte
	buf := make([]byte, 4096)
	for {
		n, err := server.Read(buf)
		seen = append(seen, buf[:n]...)
		if i := bytes.Index(seen, []byte("\r\n\r\n")); i >= 0 {
			end := min(len(seen), i+4+bodyBytes)
			client.Write(seen[:end])
			if end-(i+4) >= bodyBytes || err != nil {
				return
			}
			// Keep reading until enough body bytes went through.
			rest := bodyBytes - (end - (i + 4))
			io.CopyN(client, server, int64(rest))
			return
		}
		if err != nil {
			client.Write(seen)
			return
		}
	}
}
