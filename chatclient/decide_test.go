package chatclient

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
			assert.Equal(t, tc.want, decide(tc.o, t0.Add(-10*time.Minute)), "the local clock (10 minutes off) does not matter")
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
