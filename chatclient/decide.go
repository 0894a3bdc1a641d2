package chatclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// outcome is what one attempt produced, as far as the retry decision needs it.
type outcome struct {
	status  int         // the answer's status; 0 when there was no answer
	header  http.Header // the answer's headers
	report  report      // the answer's quota headers and Date, parsed once
	err     error       // the transport's error, when there was no answer
	bodyErr error       // set when the answer's body could not be read whole
	// wrote reports that the request's headers left this process (traced for calls
	// sent once only; see call.once).
	wrote bool
	// cancelled reports that the caller's context ended during the attempt: its
	// deadline or its cancellation, not a timeout of the transport.
	cancelled bool
}

// decision is what to do after an attempt.
type decision struct {
	retry   bool          // send again, after a wait
	reason  WaitReason    // why (with retry)
	wait    time.Duration // a wait the Market gave (quota reset, Retry-After); 0: back off
	refused bool          // the Market refused the request without acting on it
	// mayHaveActed: the attempt failed after the request may have reached the Market,
	// which may have acted on it. A call that must not be delivered twice is not sent
	// again after such an attempt: the chat's history decides.
	mayHaveActed bool
}

// decide is the retry decision, a pure function of the attempt's outcome and the local
// time the answer arrived. Like AWS's retryer it looks at the status and the headers
// first and types the error only when there was no answer. Every transport failure is
// one of three kinds: the request did not leave (retried, for any call), the answer did
// not come back (retried for reads; the Market may have acted), or it cannot clear
// (final).
//
//	outcome                                   decision                    may have acted
//	2xx, 400, 401, 403, 404, other 4xx        final                       no
//	420 or 429 with Remaining 0, reset ahead  wait for the reset          no (refused)
//	                                          (WaitQuotaReset)
//	429 with Retry-After                      wait as told (WaitRetryAfter) no (refused)
//	420, 429 otherwise                        short backoff               no (refused)
//	                                          (WaitParallelLimit)
//	408                                       final                       yes
//	500, 502, 503, 504                        backoff (WaitServerError)   yes
//	other 5xx, 1xx, 3xx                       final                       yes
//	a body over the read limit                final (*ResponseError)      yes, unless 4xx
//	a body cut off mid-way                    backoff (WaitNetworkError)  yes, unless 4xx
//	the caller's context ended                final                       if the request left
//	the request did not leave (dial refused,
//	a name that did not resolve for now)      backoff (WaitNetworkError)  no
//	the answer did not come back (a timeout
//	of the http.Client, a reset, an answer
//	cut off or malformed, even inside its
//	status line)                              backoff (WaitNetworkError)  yes
//	cannot clear: TLS verification, redirect
//	refused, invalid header value,
//	unsupported scheme, invalid URL, no such
//	host, a body that failed to read what it
//	sends (a file)                            final                       no
//
// Reset times are on the Market's clock: the wait is Until minus the answer's own Date.
func decide(o outcome, now time.Time) decision {
	switch s := o.status; {
	case s == 0:
		switch {
		case o.cancelled:
			return decision{mayHaveActed: o.wrote}
		case o.err == nil || !transient(o.err):
			return decision{}
		}
		return decision{retry: true, reason: WaitNetworkError, mayHaveActed: o.wrote}
	case s == 420 || s == http.StatusTooManyRequests:
		if wait := o.report.wait(o.report.Until, now); o.report.Remaining == 0 && wait > 0 {
			return decision{retry: true, reason: WaitQuotaReset, wait: wait, refused: true}
		}
		if s == http.StatusTooManyRequests {
			if wait, ok := retryAfter(o.header, o.report, now); ok && wait > 0 {
				return decision{retry: true, reason: WaitRetryAfter, wait: wait, refused: true}
			}
		}
		return decision{retry: true, reason: WaitParallelLimit, refused: true}
	}
	// The Market answered: it acted unless it refused with a 4xx (a gateway's 408 says
	// only that the gateway stopped waiting).
	acted := o.status < 400 || o.status >= 500 || o.status == http.StatusRequestTimeout
	if o.status >= 200 && o.status <= 299 && o.bodyErr == nil && !o.cancelled {
		return decision{}
	}
	switch s := o.status; {
	case o.cancelled:
		return decision{mayHaveActed: acted}
	case errors.Is(o.bodyErr, errTooLarge):
		return decision{mayHaveActed: acted}
	case s == http.StatusInternalServerError, s == http.StatusBadGateway,
		s == http.StatusServiceUnavailable, s == http.StatusGatewayTimeout:
		return decision{retry: true, reason: WaitServerError, mayHaveActed: true}
	case o.bodyErr != nil:
		return decision{retry: true, reason: WaitNetworkError, mayHaveActed: acted}
	}
	return decision{mayHaveActed: acted}
}

// transient reports whether a transport error can clear by itself. The caller's own
// context is not asked here (see outcome.cancelled): a timeout of the http.Client
// matches context.DeadlineExceeded too, and it is an answer that did not come back.
func transient(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		redirect *redirectError
		source   *sourceError
		dns      *net.DNSError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &record), errors.As(err, &redirect),
		errors.As(err, &source):
		return false
	case errors.As(err, &dns):
		return !dns.IsNotFound
	}
	// The standard library gives these no type of their own. A malformed answer is not
	// among them: it is an answer cut off, and the request had left.
	msg := err.Error()
	for _, permanent := range []string{"invalid header field", "unsupported protocol scheme", "invalid URL"} {
		if strings.Contains(msg, permanent) {
			return false
		}
	}
	return true
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date (measured against the
// answer's Date when it has one).
func retryAfter(h http.Header, r report, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(header(h, "Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && v[0] != '+' { // delta-seconds: digits only
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := parseHTTPDate(v)
	if err != nil {
		return 0, false
	}
	return r.wait(t, now), true
}
