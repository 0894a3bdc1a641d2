package chatclient

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// TestOutcomeMatrix runs every outcome through real HTTP: what the caller gets, how
// often the client sent, and how long it waited (a fake clock; largest jitter).
func TestOutcomeMatrix(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	quota := func(in time.Duration) map[string]string {
		now := time.Now().UTC().Truncate(time.Second)
		return map[string]string{"Date": now.Format(http.TimeFormat), "X-RateLimit-Resource-Remaining": "0",
			"X-RateLimit-Resource-Limit": "1000", "X-RateLimit-Resource-Until": now.Add(in).Format(http.TimeFormat)}
	}
	type row struct {
		name     string
		first    reply
		sentinel error
		errType  any
		attempts int
		waited   time.Duration
	}
	ok := chatReply(7)
	rows := []row{
		{"400", errorReply(400, "BAD_REQUEST", "x"), ErrBadRequest, &APIError{}, 1, 0},
		{"401", errorReply(401, "UNAUTHORIZED", "x"), ErrUnauthorized, &APIError{}, 1, 0},
		{"403", errorReply(403, "FORBIDDEN", "x"), ErrForbidden, &APIError{}, 1, 0},
		{"404", errorReply(404, "NOT_FOUND", "x"), ErrNotFound, &APIError{}, 1, 0},
		{"409", errorReply(409, "CONFLICT", "x"), nil, &APIError{}, 1, 0},
		{"500 then ok", errorReply(500, "E", "x"), nil, nil, 2, ms(250)},
		{"501", errorReply(501, "E", "x"), ErrServerError, &APIError{}, 1, 0},
		{"502 then ok", reply{status: 502, body: "<html>bad gateway</html>", ctype: "text/html"}, nil, nil, 2, ms(250)},
		{"503 then ok", errorReply(503, "E", "x"), nil, nil, 2, ms(250)},
		{"504 then ok", errorReply(504, "E", "x"), nil, nil, 2, ms(250)},
		{"420 parallel then ok", errorReply(420, "LIMIT", "Hit rate limit of 4 parallel requests"), nil, nil, 2, ms(100)},
		{"420 quota near then ok", reply{status: 420, body: `{"status":"ERROR","errors":[{"code":"LIMIT","message":"quota"}]}`, header: quota(3 * time.Second)}, nil, nil, 2, 3 * time.Second},
		{"420 quota far", reply{status: 420, body: `{"status":"ERROR","errors":[{"code":"LIMIT","message":"quota"}]}`, header: quota(time.Hour)}, ErrRateLimited, &RateLimitError{}, 1, 0},
		{"429 Retry-After 2 then ok", reply{status: 429, body: `{}`, header: map[string]string{"Retry-After": "2"}}, nil, nil, 2, 2 * time.Second},
		{"429 Retry-After far", reply{status: 429, body: `{}`, header: map[string]string{"Retry-After": "7200"}}, ErrRateLimited, &RateLimitError{}, 1, 0},
		{"429 bare then ok", reply{status: 429, body: `{}`}, nil, nil, 2, ms(100)},
		{"dropped connection then ok", reply{hangup: true}, nil, nil, 2, ms(250)},
		{"200 not JSON", reply{status: 200, body: "<html>hi</html>", ctype: "text/html"}, nil, &ResponseError{}, 1, 0},
		{"200 over the limit", reply{status: 200, body: strings.Repeat("x", MaxResponseBytes+1)}, nil, &ResponseError{}, 1, 0},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			srv := newScripted(t, r.first, ok)
			c, clock := newTestClient(t, srv.srv.URL)
			_, err := c.GetChat(context.Background(), 3, 7)
			requireNoToken(t, err)
			if r.errType == nil {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				switch r.errType.(type) {
				case *APIError:
					var e *APIError
					assert.ErrorAs(t, err, &e)
				case *RateLimitError:
					var e *RateLimitError
					require.ErrorAs(t, err, &e)
					assert.Positive(t, e.RetryAfter, "says how long to wait")
				case *ResponseError:
					var e *ResponseError
					assert.ErrorAs(t, err, &e)
				}
				if r.sentinel != nil {
					assert.ErrorIs(t, err, r.sentinel)
				}
			}
			assert.Len(t, srv.requests(), r.attempts, "attempts")
			var waited time.Duration
			for _, d := range clock.Sleeps() {
				waited += d
			}
			assert.Equal(t, r.waited, waited, "time waited")
		})
	}
}

func TestFailuresThatCannotClearEndAtOnce(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Run("TLS certificate not trusted", func(t *testing.T) {
		var hits int
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
		defer srv.Close()
		c, clock := newTestClient(t, srv.URL) // the default client does not trust the test CA
		_, err := c.GetChat(context.Background(), 3, 7)
		var ne *NetworkError
		require.ErrorAs(t, err, &ne)
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown, "the cause is visible")
		assert.Empty(t, clock.Sleeps(), "not retried")
		c.http.CloseIdleConnections()
	})
	t.Run("redirect loop", func(t *testing.T) {
		var hits int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits++
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		}))
		defer srv.Close()
		c, clock := newTestClient(t, srv.URL)
		_, err := c.GetChat(context.Background(), 3, 7)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "redirect")
		assert.Equal(t, 10, hits, "one call's redirects, not 5 attempts × 10")
		assert.Empty(t, clock.Sleeps())
	})
	t.Run("no such host", func(t *testing.T) {
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}}
		}}
		c, clock := newTestClient(t, "https://nowhere.invalid", WithHTTPClient(&http.Client{Transport: tr}))
		_, err := c.GetChat(context.Background(), 3, 7)
		var dns *net.DNSError
		require.ErrorAs(t, err, &dns)
		assert.Empty(t, clock.Sleeps())
	})
	t.Run("token with binary junk", func(t *testing.T) {
		_, err := New(APIKey("sEcr3t\x00junk"))
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "auth", ve.Field)
		assert.NotContains(t, err.Error(), "sEcr3t")
		_, err = New(APIKey("token\n"))
		assert.NoError(t, err, "a token file's trailing newline is trimmed")
	})
	t.Run("connection refused is retried", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		c, clock := newTestClient(t, "http://"+addr)
		_, err = c.GetChat(context.Background(), 3, 7)
		var re *RetryError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 5, re.Attempts)
		assert.Len(t, clock.Sleeps(), 4)
		assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "the cause is visible: %v", err)
	})
}

// skewedClock is a fake clock set off from the real one.
func skewedClock(off time.Duration) *fakeClock {
	return &fakeClock{now: time.Now().Add(off).Truncate(time.Second)}
}

func TestAQuotaResetIsMeasuredOnTheMarketsClock(t *testing.T) {
	for _, off := range []time.Duration{10 * time.Minute, -2 * time.Minute} {
		t.Run(fmt.Sprint("local clock off by ", off), func(t *testing.T) {
			var reset time.Time
			srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
				now := time.Now().UTC()
				w.Header().Set("Date", now.Format(http.TimeFormat))
				if reset.IsZero() {
					reset = now.Truncate(time.Second).Add(3 * time.Second)
				}
				w.Header().Set("X-RateLimit-Resource-Until", reset.Format(http.TimeFormat))
				w.Header().Set("X-RateLimit-Resource-Limit", "1000")
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-RateLimit-Resource-Remaining", "0")
				w.WriteHeader(420)
				_, _ = w.Write([]byte(`{"status":"ERROR","errors":[{"code":"LIMIT","message":"quota"}]}`))
			}}, chatReply(7))
			c, _ := newTestClient(t, srv.srv.URL)
			clock := skewedClock(off)
			c.clock = clock
			var infos []RetryInfo
			c.hook = func(i RetryInfo) { infos = append(infos, i) }
			_, err := c.GetChat(context.Background(), 3, 7)
			require.NoError(t, err, "no refusal: the wait fits the default budget")
			require.Len(t, infos, 1)
			assert.Equal(t, WaitQuotaReset, infos[0].Reason, "a quota 420, not a parallel one")
			assert.InDelta(t, 3*time.Second, infos[0].Wait, float64(1500*time.Millisecond), "about 3s, whatever the local clock says")
			assert.Len(t, srv.requests(), 2)
		})
	}
}

func TestUntilIsReadInEveryDateForm(t *testing.T) {
	want := time.Date(2018, 7, 10, 0, 42, 42, 0, time.UTC)
	for _, v := range []string{
		"Tue, 10 Jul 2018 00:42:42 GMT",     // RFC 1123
		"Tuesday, 10-Jul-18 00:42:42 GMT",   // RFC 850
		"Tue Jul 10 00:42:42 2018",          // asctime
		"Tue, 10 Jul 18 00:42:42 GMT",       // RFC 822, two-digit year
		"10 Jul 18 00:42:42 GMT",            // RFC 822 without the weekday
		"10 Jul 2018 00:42:42 UT",           // UT
		"Tue, 10 Jul 2018 03:42:42 +0300",   // numeric zone
		"Tue, 10 Jul 2018 03:42:42 MSK",     // the Market's zone
		"Mon, 09 Jul 2018 20:42:42 EDT",     // an RFC 822 US zone
		"Tue, 10 Jul 2018 00:42:42 UTC",     // UTC
		"  Tue, 10 Jul 2018 00:42:42 GMT  ", // white space around
	} {
		got, err := parseHTTPDate(v)
		if assert.NoError(t, err, v) {
			assert.True(t, want.Equal(got), "%s: got %v", v, got)
		}
	}
	for _, v := range []string{"Tue, 10 Jul 2018 00:42:42 XYZ", "10 Jul 2018 00:42:42 CEST", "yesterday", ""} {
		_, err := parseHTTPDate(v)
		assert.Error(t, err, "%q: an unknown zone is not silently UTC", v)
	}
}

func TestTheTokenNeverComesBack(t *testing.T) {
	srv := newScripted(t, reply{status: 502, ctype: "text/html",
		body: "<html><h1>Bad gateway</h1><pre>Api-Key: " + testToken + "</pre></html>"},
		reply{status: 400, body: `{"status":"ERROR","errors":[{"code":"BAD","message":"your key ` + testToken + ` is odd"}]}`})
	c, _ := newTestClient(t, srv.srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 2}))
	_, err := c.GetChat(context.Background(), 3, 7)
	require.Error(t, err)
	requireNoToken(t, err)
	assert.Contains(t, err.Error(), "[redacted]")
	for _, v := range []any{c, APIKey(testToken), OAuthToken(testToken), WithBaseURL("https://x")} {
		assert.NotContains(t, fmt.Sprintf("%v %+v %#v %s", v, v, v, v), testToken)
	}
}

func TestAnOversizedBodyIsNotBufferedSeveralTimesOver(t *testing.T) {
	// Through HTTP: the answer is refused with a ResponseError, not retried.
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.(http.Flusher).Flush() // no Content-Length: the client must stop by itself
		_, _ = io.WriteString(w, strings.Repeat("x", 3*MaxResponseBytes))
	}})
	c, _ := newTestClient(t, srv.srv.URL)
	_, err := c.GetChat(context.Background(), 3, 7)
	var re *ResponseError
	require.ErrorAs(t, err, &re)
	assert.Len(t, srv.requests(), 1)

	// What reading such a body allocates, measured on the reader alone.
	endless := &http.Response{Body: io.NopCloser(io.LimitReader(zeros{}, 3*MaxResponseBytes)), ContentLength: -1}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = readBody(endless, MaxResponseBytes)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, errTooLarge)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(5*MaxResponseBytes/2), "at most about twice the limit, not 6–8×: %d bytes", allocated)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestTheMarketsClockIsTheBestOfTheDateHeaders(t *testing.T) {
	c, clock := newTestClient(t, "https://api.example")
	local := clock.Now()
	assert.Equal(t, local, c.marketNow(local), "before any answer: the local clock")
	// Dates are truncated to the second: the largest estimate is the closest.
	c.noteSkew(-300 * time.Millisecond)
	c.noteSkew(-900 * time.Millisecond)
	c.noteSkew(-100 * time.Millisecond)
	c.noteSkew(-700 * time.Millisecond)
	assert.Equal(t, local.Add(-100*time.Millisecond), c.marketNow(local))
	// A clock stepped by minutes replaces it, either way.
	c.noteSkew(-10 * time.Minute)
	assert.Equal(t, local.Add(-10*time.Minute), c.marketNow(local))
	c.noteSkew(2 * time.Minute)
	assert.Equal(t, local.Add(2*time.Minute), c.marketNow(local))
}
