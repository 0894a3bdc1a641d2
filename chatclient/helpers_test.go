package chatclient

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testToken is the token every test uses; it must never show up in an error or a log.
const testToken = "tok-7f3a-SECRET-c0ffee"

// suiteLog collects the debug log of every client the tests make.
var suiteLog syncBuffer

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMain checks, after the whole suite, that no log line held the token.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		out := suiteLog.String()
		if strings.Contains(out, testToken) {
			fmt.Println("FAIL: the token appeared in the client's log output")
			code = 1
		}
		if whole := flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.fuzz").Value.String() == ""; whole && !strings.Contains(out, "ymchat request") {
			fmt.Println("FAIL: the suite produced no debug log to check")
			code = 1
		}
	}
	os.Exit(code)
}

// fakeClock advances only when the client sleeps, and records every sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	// A whole second, so that Until headers (second precision) are exact.
	return &fakeClock{now: time.Now().Truncate(time.Second)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// reply is one scripted answer.
type reply struct {
	status  int
	body    string
	header  map[string]string
	hangup  bool // close the connection without answering
	ctype   string
	handler http.HandlerFunc
}

func jsonReply(status int, body string) reply { return reply{status: status, body: body} }

func errorReply(status int, code, msg string) reply {
	return reply{status: status, body: fmt.Sprintf(`{"status":"ERROR","errors":[{"code":%q,"message":%q}]}`, code, msg)}
}

// seen is one request the scripted server received.
type seen struct {
	method, path, query, body string
	header                    http.Header
}

// scripted answers request n with replies[n] (the last reply repeats) and records what
// it received.
type scripted struct {
	t       *testing.T
	mu      sync.Mutex
	replies []reply
	got     []seen
	srv     *httptest.Server
}

func newScripted(t *testing.T, replies ...reply) *scripted {
	t.Helper()
	s := &scripted{t: t, replies: replies}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scripted) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.got)
	s.got = append(s.got, seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, body: string(body), header: r.Header.Clone()})
	rep := s.replies[min(n, len(s.replies)-1)]
	s.mu.Unlock()
	if rep.handler != nil {
		rep.handler(w, r)
		return
	}
	if rep.hangup {
		hj, ok := w.(http.Hijacker)
		require.True(s.t, ok)
		conn, _, err := hj.Hijack()
		require.NoError(s.t, err)
		_ = conn.Close()
		return
	}
	ctype := rep.ctype
	if ctype == "" {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (s *scripted) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.got...)
}

// newTestClient returns a client for url with a fake clock and the largest jitter, so
// that every wait equals its backoff cap.
func newTestClient(t *testing.T, url string, opts ...Option) (*Client, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	logger := slog.New(slog.NewTextHandler(&suiteLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	all := append([]Option{WithBaseURL(url), WithClock(clock), WithLogger(logger)}, opts...)
	c, err := New(APIKey(testToken), all...)
	require.NoError(t, err)
	c.jitter = func(n int64) int64 { return n - 1 }
	return c, clock
}

// requireNoToken fails when err's text holds the token.
func requireNoToken(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		require.NotContains(t, err.Error(), testToken)
		require.NotContains(t, fmt.Sprintf("%+v %#v", err, err), testToken)
	}
}

const chatJSON = `{"chatId":%d,"context":{"type":"ORDER","customer":{"name":"Ivan","publicId":"pub1"},"campaignId":21,"orderId":%d},"type":"CHAT","status":"WAITING_FOR_PARTNER","createdAt":"2026-11-01T10:00:00+03:00","updatedAt":"2026-11-02T11:30:00+03:00"}`

func chat(id, order int64) string { return fmt.Sprintf(chatJSON, id, order) }

func chatReply(id int64) reply {
	return jsonReply(200, `{"status":"OK","result":`+chat(id, 1000+id)+`}`)
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}
