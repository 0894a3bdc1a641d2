package faultnet

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upstream counts the requests it answered.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		_, _ = io.WriteString(w, "hello from upstream")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func proxyTo(t *testing.T, srv *httptest.Server, f Fault) *Proxy {
	t.Helper()
	p, err := NewProxy(strings.TrimPrefix(srv.URL, "http://"), func() Fault { return f })
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// rawGet sends one request on a fresh connection and returns what came back.
func rawGet(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	b, _ := io.ReadAll(bufio.NewReader(c))
	return string(b)
}

func TestAZeroFaultForwards(t *testing.T) {
	srv, n := upstream(t)
	p := proxyTo(t, srv, Fault{})
	assert.Contains(t, rawGet(t, p.Addr()), "hello from upstream")
	assert.Equal(t, int32(1), n.Load())
}

func TestACutAnswerStopsInsideTheStatusLine(t *testing.T) {
	srv, n := upstream(t)
	p := proxyTo(t, srv, Fault{CutAnswerAfter: len("HTTP/1.1 2")})
	got := rawGet(t, p.Addr())
	assert.Equal(t, "HTTP/1.1 2", got, "the client gets the first bytes, then a reset")
	p.Settle()
	assert.Equal(t, int32(1), n.Load(), "the server answered: it acted")
}

func TestAResetBeforeTheRequestNeverReachesTheServer(t *testing.T) {
	srv, n := upstream(t)
	p := proxyTo(t, srv, Fault{ResetBeforeRequest: true})
	assert.Empty(t, rawGet(t, p.Addr()))
	p.Settle()
	assert.Zero(t, n.Load())
}

func TestACutRequestIsNeverWhole(t *testing.T) {
	srv, n := upstream(t)
	p := proxyTo(t, srv, Fault{CutRequestAfter: 5})
	assert.Empty(t, rawGet(t, p.Addr()))
	p.Settle()
	assert.Zero(t, n.Load())
}

func TestSettleWaitsForConnectionsBegunBefore(t *testing.T) {
	var tr tracker
	end := tr.begin()
	settled := make(chan struct{})
	go func() { tr.settle(); close(settled) }()
	select {
	case <-settled:
		t.Fatal("settled while a connection begun before was going")
	default:
	}
	end()
	<-settled
	tr.settle() // nothing going: at once
}
