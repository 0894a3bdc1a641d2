package faultnet

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Gateway is an HTTP reverse proxy that stops waiting for its upstream after a timeout
// and answers 504, as a load balancer in front of a slow server does, while the
// upstream request goes on to its end: a server that is slow still acts, a moment
// after the client was told the gateway timed out.
type Gateway struct {
	upstream string
	client   *http.Client
	// timeout is how long the gateway waits; GiveUpAtOnce (0) answers 504 as soon as
	// the request is on its way upstream, which makes the fault certain.
	timeout  func(*http.Request) time.Duration
	live     tracker
	timeouts atomic.Int64
}

// GiveUpAtOnce is a gateway timeout that answers 504 as soon as the request has been
// sent upstream.
const GiveUpAtOnce = time.Duration(0)

// NewGateway returns a gateway to upstream (a base URL) that waits timeout(r) for each
// request r: a func, so that a test can choose the requests it times out, or draw a
// timeout per request from a seeded plan.
func NewGateway(upstream string, timeout func(*http.Request) time.Duration) *Gateway {
	return &Gateway{upstream: upstream, timeout: timeout,
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
}

// Timeouts is how many requests the gateway answered 504 while their upstream went on.
func (g *Gateway) Timeouts() int { return int(g.timeouts.Load()) }

// Settle returns once every upstream request begun before the call has ended.
func (g *Gateway) Settle() { g.live.settle() }

// Close waits for every upstream request to end.
func (g *Gateway) Close() { g.live.settle() }

// ServeHTTP forwards r upstream and answers what upstream answers, or 504 when the
// timeout comes first.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	// The upstream request outlives the client's: the gateway gave up, the server did not.
	up, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, g.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	up.Header = r.Header.Clone()
	type result struct {
		status int
		header http.Header
		body   []byte
		err    error
	}
	sent := make(chan struct{})
	answered := make(chan result, 1)
	done := g.live.begin()
	go func() {
		defer done()
		close(sent) // the request is on its way: the server will act on it
		resp, err := g.client.Do(up)
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- result{status: resp.StatusCode, header: resp.Header, body: b, err: err}
	}()
	<-sent
	d := g.timeout(r)
	if d <= GiveUpAtOnce {
		g.gatewayTimeout(w)
		return
	}
	expired := time.NewTimer(d)
	defer expired.Stop()
	select {
	case res := <-answered:
		if res.err != nil {
			http.Error(w, "upstream: "+res.err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range res.header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.status)
		_, _ = w.Write(res.body)
	case <-expired.C:
		g.gatewayTimeout(w)
	}
}

func (g *Gateway) gatewayTimeout(w http.ResponseWriter) {
	g.timeouts.Add(1)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusGatewayTimeout)
	_, _ = io.WriteString(w, "<html><body><h1>504 Gateway Time-out</h1></body></html>\n")
}
