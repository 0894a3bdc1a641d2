package notify_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/notify"
)

var quiet = slog.New(slog.DiscardHandler)

// fixed is the clock of every test handler.
var fixed = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("MSK", 3*3600))

// answer is one response of the handler, already checked against openapi.yaml.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errorBody(t testing.TB) (typ, msg string) {
	t.Helper()
	var b struct {
		Error struct{ Type, Message string }
	}
	require.NoError(t, json.Unmarshal(a.body, &b))
	return b.Error.Type, b.Error.Message
}

// newHandler builds a handler from opts, after a quiet logger and the fixed clock so
// that opts may replace them.
func newHandler(t testing.TB, opts ...notify.Option) *notify.Handler {
	t.Helper()
	h, err := notify.NewHandler(append([]notify.Option{notify.WithLogger(quiet), notify.WithClock(func() time.Time { return fixed })}, opts...)...)
	require.NoError(t, err)
	return h
}

// serve starts a real HTTP server with a handler built by newHandler from opts,
// mounted at path.
func serve(t testing.TB, path string, opts ...notify.Option) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(path, newHandler(t, opts...))
	return serveHandler(t, mux)
}

// serveHandler starts a real HTTP server with h.
func serveHandler(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func do(t testing.TB, srv *httptest.Server, method, path, body string, header ...string) answer {
	t.Helper()
	a, err := send(srv, method, path, body, header...)
	require.NoError(t, err)
	mustSpec(t).validateResponse(t, method, a.status, a.header, a.body)
	return a
}

// send is do without the checks, for goroutines other than the test's.
func send(srv *httptest.Server, method, path, body string, header ...string) (answer, error) {
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}, err
}

func post(t testing.TB, srv *httptest.Server, body string, header ...string) answer {
	t.Helper()
	return do(t, srv, http.MethodPost, "/notification", body, header...)
}

func requireOK(t testing.TB, a answer) {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
}

func requireError(t testing.TB, a answer, status int, typ, msgPart string) {
	t.Helper()
	require.Equal(t, status, a.status, "body %s", a.body)
	gotType, msg := a.errorBody(t)
	assert.Equal(t, typ, gotType)
	assert.Contains(t, msg, msgPart)
}

const (
	created  = `{"notificationType":"CHAT_CREATED","chatId":81,"businessId":7,"createdAt":"2026-01-02T03:04:05.213Z"}`
	sent     = `{"notificationType":"CHAT_MESSAGE_SENT","chatId":81,"messageId":"1004","businessId":7,"sentAt":"2026-01-02T06:04:05+03:00"}`
	started  = `{"notificationType":"CHAT_ARBITRAGE_STARTED","chatId":81,"businessId":7,"startedAt":"2026-01-02T03:04:05Z"}`
	finished = `{"notificationType":"CHAT_ARBITRAGE_FINISHED","chatId":81,"businessId":7,"finishedAt":"2026-01-02T03:04:05Z","extra":{"new":true}}`
	ping     = `{"notificationType":"PING","time":"2026-01-02T03:04:05.678Z"}`
	order    = `{"notificationType":"ORDER_CREATED","campaignId":5,"orderId":9,"createdAt":"2026-01-02T03:04:05Z","items":[]}`
)

func TestAcceptedAnswer(t *testing.T) {
	srv := serve(t, "/notification")
	a := post(t, srv, ping)
	requireOK(t, a)
	assert.JSONEq(t, `{"version":"devel","name":"ymchat","time":"2026-03-04T02:06:07.890Z"}`, string(a.body))

	srv = serve(t, "/notification", notify.WithName("shop-bot"), notify.WithVersion("v1.2.3"))
	a = post(t, srv, created)
	requireOK(t, a)
	assert.JSONEq(t, `{"version":"v1.2.3","name":"shop-bot","time":"2026-03-04T02:06:07.890Z"}`, string(a.body))
}

func TestChatTypesReachTheirFunctions(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	var (
		mu  sync.Mutex
		got []notify.Notification
	)
	record := func(n notify.Notification) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, n)
		return nil
	}
	srv := serve(t, "/notification",
		notify.OnChatCreated(func(_ context.Context, n notify.ChatCreated) error { return record(n) }),
		notify.OnChatMessageSent(func(_ context.Context, n notify.ChatMessageSent) error { return record(n) }),
		notify.OnChatArbitrageStarted(func(_ context.Context, n notify.ChatArbitrageStarted) error { return record(n) }),
		notify.OnChatArbitrageFinished(func(_ context.Context, n notify.ChatArbitrageFinished) error { return record(n) }),
		notify.OnNotification(func(context.Context, notify.Notification) error { return errors.New("catch-all must not run") }),
	)
	for _, body := range []string{created, sent, started, finished} {
		requireOK(t, post(t, srv, body))
	}
	require.Equal(t, []notify.Notification{
		notify.ChatCreated{ChatID: 81, BusinessID: 7, CreatedAt: ts("2026-01-02T03:04:05.213Z")},
		notify.ChatMessageSent{ChatID: 81, BusinessID: 7, MessageID: "1004", SentAt: ts("2026-01-02T06:04:05+03:00")},
		notify.ChatArbitrageStarted{ChatID: 81, BusinessID: 7, StartedAt: ts("2026-01-02T03:04:05Z")},
		notify.ChatArbitrageFinished{ChatID: 81, BusinessID: 7, FinishedAt: ts("2026-01-02T03:04:05Z")},
	}, got)
}

func TestMessageIDKeptAsSent(t *testing.T) {
	ids := make(chan notify.MessageID, 3)
	srv := serve(t, "/notification", notify.OnChatMessageSent(func(_ context.Context, n notify.ChatMessageSent) error {
		ids <- n.MessageID
		return nil
	}))
	for _, raw := range []string{`"1004"`, `9007199254740993`, `"m-17"`} {
		body := `{"notificationType":"CHAT_MESSAGE_SENT","chatId":1,"messageId":` + raw + `,"businessId":2,"sentAt":"2026-01-02T03:04:05Z"}`
		require.NoError(t, mustSpec(t).validateRequest([]byte(body)))
		requireOK(t, post(t, srv, body))
	}
	id := <-ids
	n, err := id.Int64()
	require.NoError(t, err)
	assert.Equal(t, int64(1004), n)

	id = <-ids
	assert.Equal(t, notify.MessageID("9007199254740993"), id, "a big number keeps every digit")
	n, err = id.Int64()
	require.NoError(t, err)
	assert.Equal(t, int64(9007199254740993), n)

	id = <-ids
	assert.Equal(t, "m-17", id.String())
	_, err = id.Int64()
	assert.ErrorContains(t, err, `"m-17"`)
}

func TestOtherTypes(t *testing.T) {
	t.Run("no function: taken", func(t *testing.T) {
		srv := serve(t, "/notification", notify.OnChatCreated(func(context.Context, notify.ChatCreated) error { return nil }))
		requireOK(t, post(t, srv, order))
		requireOK(t, post(t, srv, `{"notificationType":"SOMETHING_NEW"}`))
	})
	t.Run("OnOther gets the raw object", func(t *testing.T) {
		got := make(chan notify.Other, 1)
		srv := serve(t, "/notification", notify.OnOther(func(_ context.Context, o notify.Other) error {
			got <- o
			return nil
		}))
		requireOK(t, post(t, srv, "  "+order+"\n"))
		o := <-got
		assert.Equal(t, "ORDER_CREATED", o.Type)
		assert.Equal(t, order, string(o.Raw))
		assert.Equal(t, "ORDER_CREATED", o.NotificationType())
	})
	t.Run("OnNotification is the catch-all", func(t *testing.T) {
		var mu sync.Mutex
		var types []string
		srv := serve(t, "/notification",
			notify.OnChatCreated(func(context.Context, notify.ChatCreated) error { return nil }),
			notify.OnNotification(func(_ context.Context, n notify.Notification) error {
				mu.Lock()
				defer mu.Unlock()
				types = append(types, n.NotificationType())
				return nil
			}))
		for _, b := range []string{ping, created, sent, started, finished, order} {
			requireOK(t, post(t, srv, b))
		}
		assert.Equal(t, []string{"CHAT_MESSAGE_SENT", "CHAT_ARBITRAGE_STARTED", "CHAT_ARBITRAGE_FINISHED", "ORDER_CREATED"}, types)
	})
}

// TestWrongFormat: each body is answered 400 WRONG_EVENT_FORMAT naming the field, and
// openapi.yaml rejects it too.
func TestWrongFormat(t *testing.T) {
	called := atomic.Int32{}
	srv := serve(t, "/notification", notify.OnNotification(func(context.Context, notify.Notification) error {
		called.Add(1)
		return nil
	}))
	swap := func(body, old, new string) string {
		out := strings.Replace(body, old, new, 1)
		require.NotEqual(t, body, out)
		return out
	}
	cases := []struct{ name, body, field string }{
		{"empty body", ``, "empty body"},
		{"malformed", `{"notificationType":`, "malformed JSON"},
		{"trailing garbage", created + `}`, "malformed JSON"},
		{"array", `[` + created + `]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"string", `"PING"`, "not a JSON object"},
		{"no type", `{"chatId":1}`, "notificationType: missing"},
		{"null type", `{"notificationType":null}`, "notificationType: missing"},
		{"numeric type", `{"notificationType":7}`, "notificationType: not a string"},
		{"empty type", `{"notificationType":""}`, "notificationType: empty"},
		{"no chatId", swap(created, `"chatId":81,`, ``), "chatId: missing"},
		{"chatId 0", swap(created, `"chatId":81`, `"chatId":0`), "chatId: must be at least 1"},
		{"chatId string", swap(sent, `"chatId":81`, `"chatId":"81"`), "chatId: not an integer"},
		{"chatId fraction", swap(started, `"chatId":81`, `"chatId":81.5`), "chatId: not an integer"},
		{"chatId huge", swap(finished, `"chatId":81`, `"chatId":92233720368547758070`), "chatId: out of the int64 range"},
		{"businessId negative", swap(created, `"businessId":7`, `"businessId":-7`), "businessId: must be at least 1"},
		{"businessId null", swap(sent, `"businessId":7`, `"businessId":null`), "businessId: missing"},
		{"createdAt not a time", swap(created, `"2026-01-02T03:04:05.213Z"`, `"yesterday"`), "createdAt"},
		{"createdAt without offset", swap(created, `"2026-01-02T03:04:05.213Z"`, `"2026-01-02T03:04:05"`), "createdAt"},
		{"createdAt number", swap(created, `"2026-01-02T03:04:05.213Z"`, `1767323045`), "createdAt: not a string"},
		{"no sentAt", swap(sent, `,"sentAt":"2026-01-02T06:04:05+03:00"`, ``), "sentAt: missing"},
		{"no startedAt", swap(started, `,"startedAt":"2026-01-02T03:04:05Z"`, ``), "startedAt: missing"},
		{"finishedAt date only", swap(finished, `"2026-01-02T03:04:05Z"`, `"2026-01-02"`), "finishedAt"},
		{"no messageId", swap(sent, `"messageId":"1004",`, ``), "messageId: missing"},
		{"empty messageId", swap(sent, `"1004"`, `""`), "messageId: empty"},
		{"boolean messageId", swap(sent, `"1004"`, `true`), "messageId: neither a string nor an integer"},
		{"fractional messageId", swap(sent, `"1004"`, `10.5`), "messageId: neither a string nor an integer"},
		{"messageId 0", swap(sent, `"1004"`, `0`), "messageId: must be at least 1"},
		{"messageId negative", swap(sent, `"1004"`, `-1004`), "messageId: must be at least 1"},
		{"messageId -0", swap(sent, `"1004"`, `-0`), "messageId: must be at least 1"},
		{"messageId string 0", swap(sent, `"1004"`, `"0"`), "messageId: must be at least 1"},
		{"messageId string zeros", swap(sent, `"1004"`, `"+000"`), "messageId: must be at least 1"},
		{"messageId string negative", swap(sent, `"1004"`, `"-99999999999999999999"`), "messageId: must be at least 1"},
		{"chatId -0", swap(created, `"chatId":81`, `"chatId":-0`), "chatId: must be at least 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireError(t, post(t, srv, c.body), http.StatusBadRequest, "WRONG_EVENT_FORMAT", c.field)
			if c.name != "trailing garbage" { // kin-openapi's decoder stops after the first value
				assert.Error(t, mustSpec(t).validateRequest([]byte(c.body)), "openapi.yaml accepts %s", c.body)
			}
		})
	}
	assert.Zero(t, called.Load())

	// And the description accepts what the handler takes.
	for _, body := range []string{ping, `{"notificationType":"PING"}`, created, sent, started, finished, order} {
		assert.NoError(t, mustSpec(t).validateRequest([]byte(body)), body)
	}
}

func TestBodyLimit(t *testing.T) {
	srv := serve(t, "/notification", notify.WithMaxBodySize(200))
	requireOK(t, post(t, srv, created))
	big := `{"notificationType":"ORDER_CREATED","pad":"` + strings.Repeat("x", 200) + `"}`
	requireError(t, post(t, srv, big), http.StatusBadRequest, "WRONG_EVENT_FORMAT", "body exceeds 200 bytes")
}

// rawPost sends the headers of a POST of body and only its first part bytes over a
// raw connection, then closes the connection's write side when cut is set, and
// returns the answer (checked against openapi.yaml).
func rawPost(t testing.TB, srv *httptest.Server, body string, part int, cut bool) answer {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /notification HTTP/1.1\r\nHost: market\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:part])
	require.NoError(t, err)
	if cut {
		require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	mustSpec(t).validateResponse(t, http.MethodPost, resp.StatusCode, resp.Header, b)
	return answer{resp.StatusCode, resp.Header, b}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// TestBodyReadFailure: a body that cannot be read in full is the receiver's failure,
// answered 500 so that the Market sends it again, never 400, which would lose it.
func TestBodyReadFailure(t *testing.T) {
	var calls atomic.Int32
	h := newHandler(t, notify.OnNotification(func(context.Context, notify.Notification) error {
		calls.Add(1)
		return nil
	}))
	t.Run("stalls past the server's ReadTimeout", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(h)
		// The server's own limits, not waits of the test: the headers have all the
		// time they need, the body is due 50ms after the request began.
		srv.Config.ReadHeaderTimeout = time.Minute
		srv.Config.ReadTimeout = 50 * time.Millisecond
		srv.Start()
		t.Cleanup(srv.Close)
		// The client sends half the body and then nothing until it has the answer.
		a := rawPost(t, srv, created, len(created)/2, false)
		requireError(t, a, http.StatusInternalServerError, "UNKNOWN", "reading the body failed")
	})
	t.Run("cut short", func(t *testing.T) {
		srv := serveHandler(t, h)
		a := rawPost(t, srv, created, len(created)/2, true)
		requireError(t, a, http.StatusInternalServerError, "UNKNOWN", "reading the body failed")
	})
	t.Run("connection error", func(t *testing.T) {
		for _, err := range []error{io.ErrUnexpectedEOF, syscall.ECONNRESET, os.ErrDeadlineExceeded} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notification", io.MultiReader(strings.NewReader(created[:10]), failingReader{err})))
			mustSpec(t).validateResponse(t, http.MethodPost, rec.Code, rec.Header(), rec.Body.Bytes())
			requireError(t, answer{rec.Code, rec.Header(), rec.Body.Bytes()}, http.StatusInternalServerError, "UNKNOWN", "reading the body failed")
		}
	})
	t.Run("the whole body arrives", func(t *testing.T) {
		srv := serveHandler(t, h)
		requireOK(t, rawPost(t, srv, created, len(created), false))
	})
	assert.Equal(t, int32(1), calls.Load(), "only the whole body reached the function")
}

func TestMethodAndPath(t *testing.T) {
	srv := serve(t, "/hooks/market/", notify.OnChatCreated(func(context.Context, notify.ChatCreated) error { return nil }))
	requireOK(t, do(t, srv, http.MethodPost, "/hooks/market/any/path", created))
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		a := do(t, srv, m, "/hooks/market/notification", "")
		requireError(t, a, http.StatusMethodNotAllowed, "UNKNOWN", m)
		assert.Equal(t, "POST", a.header.Get("Allow"))
	}
}

func TestUserFailure(t *testing.T) {
	t.Run("error", func(t *testing.T) {
		srv := serve(t, "/notification", notify.OnChatCreated(func(context.Context, notify.ChatCreated) error {
			return errors.New("database is down: secret=hunter2")
		}))
		a := post(t, srv, created)
		requireError(t, a, http.StatusInternalServerError, "UNKNOWN", "notification handler failed")
		assert.NotContains(t, string(a.body), "hunter2", "the user's error stays in the log")
	})
	t.Run("panic", func(t *testing.T) {
		var calls atomic.Int32
		srv := serve(t, "/notification", notify.OnChatCreated(func(context.Context, notify.ChatCreated) error {
			if calls.Add(1) == 1 {
				panic("boom")
			}
			return nil
		}))
		requireError(t, post(t, srv, created), http.StatusInternalServerError, "UNKNOWN", "panicked")
		requireOK(t, post(t, srv, created)) // the server lives on
	})
	t.Run("panic is logged", func(t *testing.T) {
		var buf syncBuffer
		srv := serve(t, "/notification",
			notify.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))),
			notify.OnOther(func(context.Context, notify.Other) error { panic(fmt.Sprintf("boom %d", 42)) }))
		requireError(t, post(t, srv, order), http.StatusInternalServerError, "UNKNOWN", "panicked")
		assert.Contains(t, buf.String(), "boom 42")
		assert.Contains(t, buf.String(), "stack=")
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

func TestTimeout(t *testing.T) {
	t.Run("context ends before the Market's deadline", func(t *testing.T) {
		deadline := make(chan time.Duration, 1)
		srv := serve(t, "/notification", notify.OnChatCreated(func(ctx context.Context, _ notify.ChatCreated) error {
			d, ok := ctx.Deadline()
			require.True(t, ok)
			deadline <- time.Until(d)
			return nil
		}))
		requireOK(t, post(t, srv, created))
		d := <-deadline
		assert.LessOrEqual(t, d, notify.DefaultTimeout)
		assert.Greater(t, d, notify.DefaultTimeout-5*time.Second)
	})
	t.Run("overrun answered at the deadline, context cancelled", func(t *testing.T) {
		cancelled := make(chan error, 1)
		srv := serve(t, "/notification", notify.WithTimeout(50*time.Millisecond),
			notify.OnChatCreated(func(ctx context.Context, _ notify.ChatCreated) error {
				<-ctx.Done()
				cancelled <- ctx.Err()
				return ctx.Err()
			}))
		requireError(t, post(t, srv, created), http.StatusInternalServerError, "UNKNOWN", "did not finish within 50ms")
		assert.ErrorIs(t, <-cancelled, context.DeadlineExceeded)
	})
	t.Run("a function ignoring its context does not hold the answer", func(t *testing.T) {
		release := make(chan struct{})
		returned := make(chan struct{})
		srv := serve(t, "/notification", notify.WithTimeout(50*time.Millisecond),
			notify.OnChatCreated(func(context.Context, notify.ChatCreated) error {
				defer close(returned)
				<-release
				return nil
			}))
		requireError(t, post(t, srv, created), http.StatusInternalServerError, "UNKNOWN", "did not finish")
		close(release) // answered while the function was still blocked
		<-returned
	})
}

// TestPingWhileBlocked: PING is answered while a user function is blocked, and runs
// no user code.
func TestPingWhileBlocked(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	srv := serve(t, "/notification", notify.OnNotification(func(ctx context.Context, _ notify.Notification) error {
		calls.Add(1)
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}))
	first := make(chan answer, 1)
	go func() { first <- post(t, srv, created) }()
	<-entered
	for _, body := range []string{ping, `{"notificationType":"PING"}`, `{"notificationType":"PING","time":"soon","chatId":"x"}`} {
		requireOK(t, post(t, srv, body))
	}
	select {
	case <-first:
		t.Fatal("the blocked notification was answered before its release")
	default:
	}
	close(release)
	requireOK(t, <-first)
	assert.Equal(t, int32(1), calls.Load())
}

func TestAllowedNetworks(t *testing.T) {
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	proxies := notify.WithTrustedProxies(netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"))
	market := notify.WithAllowedNetworks(notify.MarketNetworks...)
	cases := []struct {
		name   string
		opts   []notify.Option
		xff    []string
		status int
	}{
		{"no restriction", nil, nil, 200},
		{"peer not allowed", []notify.Option{market}, nil, 403},
		{"peer allowed", []notify.Option{notify.WithAllowedNetworks(loopback)}, nil, 200},
		{"forwarded header ignored from an untrusted peer", []notify.Option{market}, []string{"5.45.207.10"}, 403},
		{"market behind a trusted proxy", []notify.Option{market, proxies}, []string{"5.45.207.10"}, 200},
		{"every range", []notify.Option{market, proxies}, []string{"141.8.142.127, 5.255.253.1"}, 200},
		{"chain of trusted proxies", []notify.Option{market, proxies}, []string{"5.45.207.10, 10.1.2.3", "10.9.9.9"}, 200},
		{"spoofed left entry", []notify.Option{market, proxies}, []string{"5.45.207.10, 203.0.113.9"}, 403},
		{"just outside a range", []notify.Option{market, proxies}, []string{"5.45.207.128"}, 403},
		{"IPv4-mapped IPv6", []notify.Option{market, proxies}, []string{"::ffff:5.45.207.10"}, 200},
		{"garbage", []notify.Option{market, proxies}, []string{"not-an-ip"}, 403},
		{"no header behind the proxy", []notify.Option{market, proxies}, nil, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := serve(t, "/notification", c.opts...)
			var hdr []string
			for _, v := range c.xff {
				hdr = append(hdr, "X-Forwarded-For", v)
			}
			a := post(t, srv, ping, hdr...)
			require.Equal(t, c.status, a.status, "body %s", a.body)
			if c.status == 403 {
				requireError(t, a, 403, "UNKNOWN", "not allowed")
			}
		})
	}
}

func TestNewHandlerRejectsBadOptions(t *testing.T) {
	for _, o := range []notify.Option{
		notify.OnChatCreated(nil),
		notify.OnChatMessageSent(nil),
		notify.OnChatArbitrageStarted(nil),
		notify.OnChatArbitrageFinished(nil),
		notify.OnOther(nil),
		notify.OnNotification(nil),
		notify.WithTimeout(0),
		notify.WithTimeout(10 * time.Second),
		notify.WithMaxBodySize(0),
		notify.WithAllowedNetworks(netip.Prefix{}),
		notify.WithAllowedNetworks(),
		notify.WithTrustedProxies(netip.Prefix{}),
		notify.WithDedup(-1),
		notify.WithName(""),
		notify.WithName(strings.Repeat("я", 101)),
		notify.WithVersion(""),
		notify.WithLogger(nil),
		notify.WithClock(nil),
	} {
		_, err := notify.NewHandler(o)
		assert.ErrorContains(t, err, "notify: ")
	}
	h, err := notify.NewHandler(notify.WithName(strings.Repeat("я", 100)), notify.WithTimeout(notify.MaxTimeout), nil)
	require.NoError(t, err)
	require.NotNil(t, h)
}

// TestConcurrent exercises the handler under the race detector.
func TestConcurrent(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, "/notification", notify.WithDedup(8), notify.OnNotification(func(context.Context, notify.Notification) error {
		calls.Add(1)
		return nil
	}))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				body := fmt.Sprintf(`{"notificationType":"CHAT_MESSAGE_SENT","chatId":%d,"messageId":"%d","businessId":1,"sentAt":"2026-01-02T03:04:05Z"}`, i+1, j+1)
				requireOK(t, post(t, srv, body))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(80), calls.Load())
}
