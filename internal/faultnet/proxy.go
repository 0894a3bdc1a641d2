// Package faultnet puts real network faults between a client and a server on
// loopback, for tests of what the client promises: a TCP proxy that acts out a fault on
// each connection (latency, a reset before the request arrives, a request or an answer
// cut after so many bytes, a black hole), and an HTTP gateway that answers 504 while its
// upstream goes on, as a load balancer in front of a slow server does.
//
// Both know which of their connections or requests are still going, and Settle waits
// for those begun before it was called: a test waits on that event, not on a guess of
// how long a late request may take to land.
//
// # Why not toxiproxy
//
// Shopify's toxiproxy is the well-known tool for this, but it sets faults per proxy
// through a control API, not per connection from a seeded plan, and has no way to tell
// when the requests it delayed have landed; it would also bring its server, metrics
// and logging libraries into the module for one test helper. What the tests need fits
// in this package.
package faultnet

import (
	"io"
	"net"
	"sync"
	"time"
)

// Fault is what the proxy does to one connection. The zero Fault forwards it as it is.
type Fault struct {
	// Latency holds each direction's bytes back this long before forwarding them.
	Latency time.Duration
	// ResetBeforeRequest resets the connection once the client has sent its first
	// bytes, without forwarding them: the request never reaches the server.
	ResetBeforeRequest bool
	// CutRequestAfter, when positive, forwards only the request's first so many bytes,
	// then resets both sides: the server gets part of the request.
	CutRequestAfter int
	// CutAnswerAfter, when positive, forwards only the answer's first so many bytes,
	// then resets the client: the server acted, and the answer is lost (12 bytes cut it
	// inside the status line).
	CutAnswerAfter int
	// Blackhole takes the request and answers nothing, until the client gives up.
	Blackhole bool
}

// Proxy forwards TCP connections to a target, acting out a fault on each.
type Proxy struct {
	ln     net.Listener
	target string
	plan   func() Fault
	live   tracker
}

// NewProxy listens on a loopback port and forwards every connection to target
// (host:port), with the fault plan returns for it. plan is called once a connection,
// in the order they arrive.
func NewProxy(target string, plan func() Fault) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, plan: plan}
	go p.serve()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops listening and waits for every connection to end.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.live.settle()
	return err
}

// Settle returns once every connection the proxy accepted before the call has ended.
func (p *Proxy) Settle() { p.live.settle() }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		done := p.live.begin()
		f := p.plan() // here, not in the goroutine: the plan draws in arrival order
		go func() {
			defer done()
			p.handle(c.(*net.TCPConn), f)
		}()
	}
}

func (p *Proxy) handle(c *net.TCPConn, f Fault) {
	defer c.Close()
	if f.ResetBeforeRequest || f.Blackhole {
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err != nil || f.ResetBeforeRequest {
			reset(c)
			return
		}
		_, _ = io.Copy(io.Discard, c) // until the client gives up
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		reset(c)
		return
	}
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the request
		defer wg.Done()
		if pipe(up, c, f.Latency, f.CutRequestAfter) {
			reset(c)
			reset(up.(*net.TCPConn))
			return
		}
		_ = up.(*net.TCPConn).CloseWrite()
	}()
	go func() { // the answer
		defer wg.Done()
		if pipe(c, up, f.Latency, f.CutAnswerAfter) {
			reset(c)
			return
		}
		_ = c.CloseWrite()
	}()
	wg.Wait()
}

// pipe copies src to dst after holding back latency, at most limit bytes when limit
// is positive; it reports whether it stopped at the limit.
func pipe(dst io.Writer, src io.Reader, latency time.Duration, limit int) (cut bool) {
	buf := make([]byte, 32<<10)
	first := true
	sent := 0
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if first && latency > 0 {
				time.Sleep(latency)
			}
			first = false
			chunk := buf[:n]
			if limit > 0 && sent+n >= limit {
				chunk = chunk[:limit-sent]
				cut = true
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return false
			}
			sent += len(chunk)
			if cut {
				return true
			}
		}
		if err != nil {
			return false
		}
	}
}

// reset closes c with an RST, as a crashed peer or a middlebox does.
func reset(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}

// tracker counts what is still going and lets Settle wait for what began before it.
type tracker struct {
	mu      sync.Mutex
	cond    *sync.Cond
	next    uint64          // the number the next begin takes
	running map[uint64]bool // begun and not yet ended
}

func (t *tracker) init() {
	if t.cond == nil {
		t.cond = sync.NewCond(&t.mu)
		t.running = map[uint64]bool{}
	}
}

// begin notes one more thing going and returns the func that ends it.
func (t *tracker) begin() (end func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	n := t.next
	t.next++
	t.running[n] = true
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.running, n)
		t.cond.Broadcast()
	}
}

// settle waits until everything begun before the call has ended.
func (t *tracker) settle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	upto := t.next
	for {
		pending := false
		for n := range t.running {
			if n < upto {
				pending = true
				break
			}
		}
		if !pending {
			return
		}
		t.cond.Wait()
	}
}
