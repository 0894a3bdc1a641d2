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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestDecideIsAPureFunctionOfTheOutcome is the retry decision's table: status and
// headers first, then the error's type.
func TestDecideIsAPureFunctionOfTheOutcome(t *testing.T) {
	date := t0.Format(http.TimeFormat)
	in3s := t0.Add(3 * time.Second).Format(http.TimeFormat)
	cases := []struct {
		name string
		o    outcome
		want decision
	}{
		{"200", outcome{status: 200}, decision{}},
		{"400", outcome{status: 400}, decision{}},
		{"401", outcome{status: 401}, decision{}},
		{"403", outcome{status: 403}, decision{}},
		{"404", outcome{status: 404}, decision{}},
		{"409", outcome{status: 409}, decision{}},
		{"408 from a gateway", outcome{status: 408}, decision{mayHaveActed: true}},
		{"500", outcome{status: 500}, decision{retry: true, reason: WaitServerError, mayHaveActed: true}},
		{"501", outcome{status: 501}, decision{mayHaveActed: true}},
		{"502", outcome{status: 502}, decision{retry: true, reason: WaitServerError, mayHaveActed: true}},
		{"503", outcome{status: 503}, decision{retry: true, reason: WaitServerError, mayHaveActed: true}},
		{"504", outcome{status: 504}, decision{retry: true, reason: WaitServerError, mayHaveActed: true}},
		{"420 parallel", outcome{status: 420}, decision{retry: true, reason: WaitParallelLimit, refused: true}},
		{"420 quota", outcome{status: 420, header: hdr("Date", date, headerRemaining, "0", headerUntil, in3s)},
			decision{retry: true, reason: WaitQuotaReset, wait: 3 * time.Second, refused: true}},
		{"420 remaining left", outcome{status: 420, header: hdr("Date", date, headerRemaining, "5", headerUntil, in3s)},
			decision{retry: true, reason: WaitParallelLimit, refused: true}},
		{"420 until passed", outcome{status: 420, header: hdr("Date", in3s, headerRemaining, "0", headerUntil, date)},
			decision{retry: true, reason: WaitParallelLimit, refused: true}},
		{"429 Retry-After seconds", outcome{status: 429, header: hdr("Retry-After", "7")},
			decision{retry: true, reason: WaitRetryAfter, wait: 7 * time.Second, refused: true}},
		{"429 Retry-After date", outcome{status: 429, header: hdr("Date", date, "Retry-After", in3s)},
			decision{retry: true, reason: WaitRetryAfter, wait: 3 * time.Second, refused: true}},
		{"429 bare", outcome{status: 429}, decision{retry: true, reason: WaitParallelLimit, refused: true}},
		{"200 body too large", outcome{status: 200, bodyErr: errTooLarge}, decision{mayHaveActed: true}},
		{"503 body too large", outcome{status: 503, bodyErr: errTooLarge}, decision{mayHaveActed: true}},
		{"404 body too large", outcome{status: 404, bodyErr: errTooLarge}, decision{}},
		{"200 body cut off", outcome{status: 200, bodyErr: io.ErrUnexpectedEOF}, decision{retry: true, reason: WaitNetworkError, mayHaveActed: true}},
		{"404 body cut off", outcome{status: 404, bodyErr: io.ErrUnexpectedEOF}, decision{retry: true, reason: WaitNetworkError}},
		{"200 body cut by the caller's deadline", outcome{status: 200, bodyErr: context.DeadlineExceeded, cancelled: true}, decision{mayHaveActed: true}},
		{"connection refused", outcome{err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, decision{retry: true, reason: WaitNetworkError}},
		{"connection reset before the request left", outcome{err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, decision{retry: true, reason: WaitNetworkError}},
		{"connection reset after the request left", outcome{err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}, wrote: true}, decision{retry: true, reason: WaitNetworkError, mayHaveActed: true}},
		{"timeout", outcome{err: &net.OpError{Op: "read", Err: timeoutErr{}}, wrote: true}, decision{retry: true, reason: WaitNetworkError, mayHaveActed: true}},
		{"http.Client timeout", outcome{err: fmt.Errorf("Post: %w", context.DeadlineExceeded), wrote: true}, decision{retry: true, reason: WaitNetworkError, mayHaveActed: true}},
		{"answer cut inside its status line", outcome{err: errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "HTTP/1.1 2"`), wrote: true},
			decision{retry: true, reason: WaitNetworkError, mayHaveActed: true}},
		{"a file that failed to read", outcome{err: &sourceError{io.ErrUnexpectedEOF}}, decision{}},
		{"temporary DNS failure", outcome{err: &net.DNSError{Err: "server misbehaving", IsTemporary: true}}, decision{retry: true, reason: WaitNetworkError}},
		{"no such host", outcome{err: &net.DNSError{Err: "no such host", IsNotFound: true}}, decision{}},
		{"TLS verification", outcome{err: &net.OpError{Err: x509.UnknownAuthorityError{}}}, decision{}},
		{"redirect loop", outcome{err: &redirectError{errors.New("stopped after 10 redirects")}}, decision{}},
		{"invalid header value", outcome{err: errors.New(`net/http: invalid header field value for "Api-Key"`)}, decision{}},
		{"unsupported scheme", outcome{err: errors.New(`unsupported protocol scheme "ftp"`)}, decision{}},
		{"the caller's context cancelled before the request left", outcome{err: context.Canceled, cancelled: true}, decision{}},
		{"the caller's deadline after the request left", outcome{err: context.DeadlineExceeded, cancelled: true, wrote: true}, decision{mayHaveActed: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := t0.Add(-10 * time.Minute)
			tc.o.report = parseReport(tc.o.header, now) // as the request path does, once an answer
			assert.Equal(t, tc.want, decide(tc.o, now), "the local clock (10 minutes off) does not matter")
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

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
