package chatclient_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

const faultToken = "fault-SECRET-token-9f2"

// faultEnv is one fault case's client: its own transport and log, and a leak check that
// runs after everything else the case started has been cleaned up.
type faultEnv struct {
	client *chatclient.Client
	log    *bytes.Buffer
	logMu  *sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newFaultEnv(t *testing.T, baseURL string, opts ...chatclient.Option) *faultEnv {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	e := &faultEnv{log: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	logger := slog.New(slog.NewTextHandler(lockedWriter{e.logMu, e.log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	policy := chatclient.DefaultRetryPolicy()
	policy.MaxAttempts = 3
	policy.Backoff = chatclient.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Multiplier: 2}
	c, err := chatclient.New(chatclient.APIKey(faultToken), append([]chatclient.Option{chatclient.WithBaseURL(baseURL),
		chatclient.WithHTTPClient(&http.Client{Transport: tr}), chatclient.WithLogger(logger), chatclient.WithRetryPolicy(policy)}, opts...)...)
	require.NoError(t, err)
	e.client = c
	t.Cleanup(tr.CloseIdleConnections)
	return e
}

// checkToken fails if the token is in err or in the client's log.
func (e *faultEnv) checkToken(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		assert.NotContains(t, err.Error(), faultToken)
		assert.NotContains(t, fmt.Sprintf("%+v", err), faultToken)
	}
	e.logMu.Lock()
	defer e.logMu.Unlock()
	assert.NotEmpty(t, e.log.String(), "the client logged its attempts")
	assert.NotContains(t, e.log.String(), faultToken)
}

// noLeaks registers, first, the check that runs last: every goroutine the case
// started (servers, handlers, connections, timers) is gone.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// rawServer serves each connection with handle after reading its request; it stops,
// and waits for its handlers, at cleanup.
func rawServer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return "http://" + ln.Addr().String()
}

func TestFaultConnectionRefused(t *testing.T) {
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	ln.Close()
	e := newFaultEnv(t, url)
	_, err = e.client.GetChat(context.Background(), 1, 1)
	var re *chatclient.RetryError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.Attempts, "retried, then given up")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	e.checkToken(t, err)
}

func TestFaultResetBeforeHeaders(t *testing.T) {
	noLeaks(t)
	url := rawServer(t, func(c net.Conn) {
		_ = c.(*net.TCPConn).SetLinger(0) // close with RST
	})
	e := newFaultEnv(t, url)
	_, err := e.client.ListChats(context.Background(), 1, chatclient.Filter{}, chatclient.PageRequest{})
	var re *chatclient.RetryError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.Attempts)
	assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF"), err.Error())
	e.checkToken(t, err)
}

func TestFaultCloseMidBody(t *testing.T) {
	noLeaks(t)
	url := rawServer(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"status\":\"OK\",\"result\":{\"chatId\":")
	})
	e := newFaultEnv(t, url)
	_, err := e.client.CreateChat(context.Background(), 1, chatclient.Order(5))
	var re *chatclient.RetryError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.Attempts, "a cut body is a network failure: retried")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	e.checkToken(t, err)
}

func TestFaultBodySlowerThanTheDeadline(t *testing.T) {
	noLeaks(t)
	url := rawServer(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		for range 100 {
			time.Sleep(20 * time.Millisecond)
			if _, err := io.WriteString(c, " "); err != nil {
				return // the client hung up
			}
		}
	})
	e := newFaultEnv(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.client.GetChat(ctx, 1, 1)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second, "returns at the deadline, not when the body ends")
	e.checkToken(t, err)
}

func TestFaultHTML502(t *testing.T) {
	noLeaks(t)
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithToken(faultToken))
	t.Cleanup(srv.Close)
	srv.Script("getChat", chattest.HTML502(), chattest.HTML502(), chattest.HTML502())
	e := newFaultEnv(t, srv.URL)
	_, err := e.client.GetChat(context.Background(), 100, 5000001)
	var re *chatclient.RetryError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.Attempts)
	var ae *chatclient.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 502, ae.StatusCode)
	assert.Contains(t, ae.Body, "<title>502 Bad Gateway</title>")
	assert.ErrorIs(t, err, chatclient.ErrServerError)
	e.checkToken(t, err)
}

func TestFault200NotJSON(t *testing.T) {
	noLeaks(t)
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithToken(faultToken))
	t.Cleanup(srv.Close)
	srv.Script("getChats", chattest.NotJSON())
	e := newFaultEnv(t, srv.URL)
	_, err := e.client.ListChats(context.Background(), 100, chatclient.Filter{}, chatclient.PageRequest{})
	var re *chatclient.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 200, re.StatusCode)
	assert.Equal(t, "OK", re.Body)
	assert.Len(t, srv.Requests(), 1, "a body that does not decode is not retried")
	e.checkToken(t, err)
}

func TestFaultBodyOver10MiB(t *testing.T) {
	for _, withLength := range []bool{true, false} {
		t.Run(fmt.Sprintf("Content-Length %v", withLength), func(t *testing.T) {
			noLeaks(t)
			var requests int
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				requests++
				mu.Unlock()
				const size = 11 << 20
				if withLength {
					w.Header().Set("Content-Length", fmt.Sprint(size))
				}
				w.Header().Set("Content-Type", "application/json")
				chunk := bytes.Repeat([]byte(" "), 64<<10)
				for written := 0; written < size; written += len(chunk) {
					if _, err := w.Write(chunk[:min(len(chunk), size-written)]); err != nil {
						return
					}
				}
			}))
			t.Cleanup(srv.Close)
			e := newFaultEnv(t, srv.URL)
			_, err := e.client.GetChat(context.Background(), 1, 1)
			var re *chatclient.ResponseError
			require.ErrorAs(t, err, &re)
			assert.Contains(t, err.Error(), fmt.Sprintf("limit %d", chatclient.MaxResponseBytes))
			mu.Lock()
			assert.Equal(t, 1, requests, "not retried")
			mu.Unlock()
			e.checkToken(t, err)
		})
	}
}

func TestFaultRedirectToAnotherHost(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Header.Get("Api-Key"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"OK","result":{"chatId":77}}`)
	}))
	t.Cleanup(other.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(api.Close)
	e := newFaultEnv(t, api.URL)
	id, err := e.client.CreateChat(context.Background(), 1, chatclient.Order(3))
	require.NoError(t, err)
	assert.Equal(t, int64(77), id)
	mu.Lock()
	assert.Equal(t, []string{""}, leaked, "the other host never sees the token")
	mu.Unlock()
	e.checkToken(t, err)
}

// 64 goroutines across 3 businesses make 3,000 mixed calls through one client against
// chattest with its parallel limit of 4: no parallel-limit 420 reaches a caller, and
// every chat created is found again by listing, once.
func TestLoadMixedCallsThroughOneClient(t *testing.T) {
	const (
		workers     = 64
		calls       = 3000
		perBusiness = 400 // orders to start chats about
	)
	businesses := []int64{100, 200, 300}
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithRequestLog(0))
	defer srv.Close()
	for _, b := range businesses {
		for i := range perBusiness {
			srv.AddOrder(b, chattest.Order{OrderID: 70_000_000 + b*1000 + int64(i), CampaignID: 1})
		}
	}
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
	require.NoError(t, err)

	var (
		next     atomic.Int64
		mu       sync.Mutex
		created  = map[int64]map[int64]int64{} // business → order → chat
		failures []error
		wg       sync.WaitGroup
	)
	for _, b := range businesses {
		created[b] = map[int64]int64{}
	}
	fail := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for {
				n := next.Add(1)
				if n > calls {
					return
				}
				b := businesses[n%3]
				switch n % 5 {
				case 0, 1: // create; some orders twice, concurrently, to check idempotence
					order := 70_000_000 + b*1000 + (n/3)%perBusiness
					id, err := client.CreateChat(ctx, b, chatclient.Order(order))
					if err != nil {
						fail(err)
						continue
					}
					mu.Lock()
					if prev, ok := created[b][order]; ok && prev != id {
						failures = append(failures, errors.New("two chats for one order"))
					}
					created[b][order] = id
					mu.Unlock()
				case 2, 3:
					if _, err := client.GetChat(ctx, b, 5_000_001); err != nil && !errors.Is(err, chatclient.ErrNotFound) {
						fail(err)
					}
				default:
					if _, err := client.ListChats(ctx, b, chatclient.Filter{Statuses: []api.ChatStatus{api.ChatStatusNew}}, chatclient.PageRequest{Limit: 20}); err != nil {
						fail(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range failures {
		assert.NoError(t, err)
		assert.False(t, errors.Is(err, chatclient.ErrRateLimited), "a 420 reached a caller")
	}

	for _, b := range businesses {
		listed := map[int64]int{}
		for chat, err := range client.Chats(context.Background(), b, chatclient.Filter{Statuses: []api.ChatStatus{api.ChatStatusNew}}) {
			require.NoError(t, err)
			listed[chat.ID]++
		}
		assert.NotEmpty(t, created[b])
		for order, id := range created[b] {
			assert.Equal(t, 1, listed[id], "business %d: the chat for order %d is listed exactly once", b, order)
		}
		for id, n := range listed {
			assert.Equal(t, 1, n, "chat %d listed %d times", id, n)
		}
	}
}
