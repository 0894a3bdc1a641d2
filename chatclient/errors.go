package chatclient

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Sentinel errors for the common outcomes. Every error the client returns for an HTTP
// answer matches one of them with errors.Is, e.g. errors.Is(err, chatclient.ErrNotFound).
var (
	// ErrBadRequest matches HTTP 400 answers: the Market rejected the request's data.
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthorized matches HTTP 401 answers: the request carried no credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden matches HTTP 403 answers: the token is wrong or lacks access.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound matches HTTP 404 answers: no such chat, order, return or business.
	ErrNotFound = errors.New("not found")
	// ErrRateLimited matches HTTP 420 answers and [*RateLimitError]: a request limit
	// of the Market was hit, or would have been.
	ErrRateLimited = errors.New("rate limited")
	// ErrServerError matches HTTP 5xx answers: the Market failed.
	ErrServerError = errors.New("server error")
	// ErrInvalidInput matches [*ValidationError]: the call's arguments were rejected
	// before anything was sent.
	ErrInvalidInput = errors.New("invalid input")
)

// ValidationError reports an argument the client refused to send. No request was made.
type ValidationError struct {
	// Field names the argument as the API calls it, e.g. "limit", "chatId" or
	// "filter.statuses[1]".
	Field string
	// Rule says what the field must be, e.g. "must be between 1 and 20".
	Rule string
	// Value is the rejected value.
	Value any
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("chatclient: invalid %s: %s (got %v)", e.Field, e.Rule, e.Value)
}

// Is reports whether target is [ErrInvalidInput].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// ErrorDetail is one entry of the errors list the Market sends with a failed answer.
type ErrorDetail struct {
	// Code is the Market's machine-readable error code.
	Code string
	// Message is the Market's explanation; it may be empty.
	Message string
}

// writeDetails appends ": CODE: message; CODE: message" for each detail.
func writeDetails(b *strings.Builder, details []ErrorDetail) {
	for i, d := range details {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(d.String())
	}
}

// String formats the detail as "CODE: message".
func (d ErrorDetail) String() string {
	if d.Message == "" {
		return d.Code
	}
	return d.Code + ": " + d.Message
}

// APIError is a non-2xx answer of the Market. It matches the sentinel of its status with
// errors.Is (ErrNotFound for 404 and so on).
type APIError struct {
	// Operation is the API operation, e.g. [OpGetChat].
	Operation Operation
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Errors lists every error the Market reported, in order.
	Errors []ErrorDetail
	// RateLimit holds the answer's quota headers.
	RateLimit RateLimit
	// Body is a short excerpt of the body, set when it was not the JSON error envelope
	// (an HTML page from a proxy, say).
	Body string
}

// Error implements error, naming the operation, the status and every reported error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chatclient: %s: HTTP %d", e.Operation, e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	} else if e.StatusCode == 420 {
		b.WriteString(" Method Failure")
	}
	writeDetails(&b, e.Errors)
	if len(e.Errors) == 0 && e.Body != "" {
		fmt.Fprintf(&b, ": unexpected body %q", e.Body)
	}
	if e.isRateLimit() {
		if rl := e.RateLimit.String(); rl != "" {
			b.WriteString(" (" + rl + ")")
		}
	}
	return b.String()
}

func (e *APIError) isRateLimit() bool {
	return e.StatusCode == 420 || e.StatusCode == http.StatusTooManyRequests
}

// Is matches the sentinel of the error's status: ErrBadRequest, ErrUnauthorized,
// ErrForbidden, ErrNotFound, ErrRateLimited or ErrServerError.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.isRateLimit()
	case ErrServerError:
		return e.StatusCode >= 500
	}
	return false
}

// RateLimitError reports that a quota is spent (or the Market asked to wait) for longer
// than the client may wait (see [WithMaxWait] and the context deadline). It matches
// [ErrRateLimited].
type RateLimitError struct {
	// Operation is the API operation whose quota is spent.
	Operation Operation
	// BusinessID is the business the quota belongs to.
	BusinessID int64
	// Limit is the quota (-1 when unknown).
	Limit int64
	// Remaining is what is left of it, normally 0 (-1 when unknown).
	Remaining int64
	// Until is when the quota resets, on the Market's clock; zero when the Market gave
	// only a Retry-After.
	Until time.Time
	// RetryAfter is how long to wait, from when the error was returned, before calling
	// again: measured on the Market's clock, so a local clock that is off does not
	// matter.
	RetryAfter time.Duration
	// Window is the length of the quota's window: the one the Market's 420 states
	// ("Hit rate limit of N requests per hour"), else the hour the Market documents for
	// every quota, which is also all the client can tell when it sent no request. 0
	// when the window is unknown: a 429 that reported no quota, only when to retry.
	Window time.Duration
	// Err is the Market's answer, or nil when the client knew the quota was spent
	// and sent no request.
	Err *APIError
}

// Error implements error, saying when the quota resets.
func (e *RateLimitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chatclient: %s: rate limited", e.Operation)
	if !e.Until.IsZero() {
		b.WriteString(": quota")
		if e.Limit >= 0 {
			fmt.Fprintf(&b, " of %d requests", e.Limit)
		}
		fmt.Fprintf(&b, " spent until %s", e.Until.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "; retry in %s", e.RetryAfter.Round(time.Second))
	if e.Err == nil {
		b.WriteString(" (no request sent)")
	}
	return b.String()
}

// Is reports whether target is [ErrRateLimited].
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Unwrap returns the Market's answer, if a request was sent.
func (e *RateLimitError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// RetryError reports a call the client gave up on after retrying: attempts ran out, or
// the next wait would have passed the context deadline. It wraps the last failure (an
// [*APIError] or a network error), so errors.As and errors.Is reach it, and, when the
// deadline stopped the retries, context.DeadlineExceeded.
type RetryError struct {
	// Operation is the API operation.
	Operation Operation
	// Attempts is how many requests were sent.
	Attempts int
	// Err is the last failure.
	Err error
	// Cause is context.DeadlineExceeded when the deadline stopped the retries, else nil.
	Cause error
}

// Error implements error.
func (e *RetryError) Error() string {
	why := ""
	if e.Cause != nil {
		why = " (the next wait would pass the context deadline)"
	}
	return fmt.Sprintf("chatclient: %s: gave up after %s%s: %s", e.Operation, plural(e.Attempts, "attempt"), why, strings.TrimPrefix(e.Err.Error(), "chatclient: "+string(e.Operation)+": "))
}

// Unwrap returns the last failure and, if set, the cause.
func (e *RetryError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// ResponseError reports an answer the client could not use: a 2xx body that is not the
// documented JSON, or a body larger than the client reads.
type ResponseError struct {
	// Operation is the API operation.
	Operation Operation
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Body is a short excerpt of the body.
	Body string
	// Err says what was wrong: [ErrStatusError], [ErrNoResult], or why the body did not
	// decode.
	Err error
	// Errors lists the errors the Market reported in an envelope whose status is ERROR.
	Errors []ErrorDetail
}

// Error implements error.
func (e *ResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chatclient: %s: HTTP %d: unusable response: %v", e.Operation, e.StatusCode, e.Err)
	writeDetails(&b, e.Errors)
	fmt.Fprintf(&b, "; body starts %q", e.Body)
	return b.String()
}

// Unwrap returns what was wrong.
func (e *ResponseError) Unwrap() error { return e.Err }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// NetworkError reports a request that got no usable answer: the connection failed, or
// the answer was cut off. It wraps the transport's error (a *url.Error, a *net.OpError,
// a TLS verification error ...), so errors.As reaches the cause.
type NetworkError struct {
	// Operation is the API operation.
	Operation Operation
	// Err is the transport's error.
	Err error
}

// Error implements error.
func (e *NetworkError) Error() string {
	return fmt.Sprintf("chatclient: %s: %v", e.Operation, e.Err)
}

// Unwrap returns the transport's error.
func (e *NetworkError) Unwrap() error { return e.Err }

// sourceError is the failure of a request's body to read what it sends (a file): the
// request broke off before the Market had it whole, so the Market did not act, and
// reading again would fail again.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return "reading the file: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// ambiguousError is what the request path returns for a call sent once (a message, a
// file) whose attempt failed after the request may have reached the Market. The
// conversation methods settle it by reading the chat's history.
type ambiguousError struct {
	err error
	end time.Time // when the attempt ended, on the client's clock
}

func (e *ambiguousError) Error() string { return e.err.Error() }
func (e *ambiguousError) Unwrap() error { return e.err }

// ErrStatusError is matched by the [*ResponseError] of a 2xx answer whose envelope
// says "status": "ERROR" (or a status this client does not know): the Market failed to
// process the request, whatever the HTTP status says. The Market's codes are in
// [ResponseError.Errors].
var ErrStatusError = errors.New(`the answer's status is not "OK"`)

// ErrNoResult is matched by the [*ResponseError] of a 2xx answer whose envelope holds
// no result (null or missing), or a result without the id that names it. Such an
// answer is never taken for an empty page or an empty chat.
var ErrNoResult = errors.New("the answer holds no result")

// ErrMaybeDelivered is matched by [*MaybeDeliveredError].
var ErrMaybeDelivered = errors.New("the message may have been delivered")

// The reasons a [MaybeDeliveredError] gives in CheckErr, besides the failure to read the
// chat's history.
var (
	// ErrNotInHistory: the chat's history, read once the send could no longer land,
	// holds no such message. The Market did not act, as far as its history tells;
	// [Client.Delivered] says the same later, and then sending again is safe.
	ErrNotInHistory = errors.New("the chat's history holds no such message")
	// ErrIndistinguishable: the history holds such a message, but another send of the
	// same message to the same chat could explain it (the same words sent again within
	// seconds), so it cannot be told whether this one arrived.
	ErrIndistinguishable = errors.New("an identical message sent around the same time could explain the one in the history")
	// ErrSettleLater: the call's budget (its deadline, or [WithMaxWait]) ends before the
	// send can no longer land, so the history was not read; [Client.Delivered] can
	// settle it from MaybeDeliveredError.SettleAfter on.
	ErrSettleLater = errors.New("the call's budget ends before the send can no longer land")
)

// MaybeDeliveredError reports a message or file whose sending failed after it may have
// reached the Market, which the chat's history could not settle (see the package doc's
// "Sending at most once"). Sending it again may deliver it twice: settle it first with
// [Client.Delivered], which reads the history again.
type MaybeDeliveredError struct {
	// Operation is [OpSendMessageToChat] or [OpSendFileToChat].
	Operation Operation
	// BusinessID and ChatID name the chat.
	BusinessID, ChatID int64
	// Text is the message's text (sendMessageToChat).
	Text string
	// FileName and FileSize name the file (sendFileToChat).
	FileName string
	FileSize int64
	// SentFrom and SentUntil bound the send on the Market's clock: from when it began
	// to when its last attempt failed.
	SentFrom, SentUntil time.Time
	// SettleAfter is when, on the Market's clock, the send can no longer land: from
	// then on the chat's history tells whether it did.
	SettleAfter time.Time
	// Err is the failure of the send.
	Err error
	// CheckErr is why the history did not settle it: [ErrNotInHistory],
	// [ErrIndistinguishable], [ErrSettleLater], or the failure to read it.
	CheckErr error

	rec *sendRecord // the client's memory of this send, so that it never explains itself
}

// Error implements error.
func (e *MaybeDeliveredError) Error() string {
	return fmt.Sprintf("chatclient: %s: chat %d: %v: %s; %v",
		e.Operation, e.ChatID, ErrMaybeDelivered, strings.TrimPrefix(e.Err.Error(), "chatclient: "+string(e.Operation)+": "), e.CheckErr)
}

// Is reports whether target is [ErrMaybeDelivered].
func (e *MaybeDeliveredError) Is(target error) bool { return target == ErrMaybeDelivered }

// Unwrap returns the failure of the send.
func (e *MaybeDeliveredError) Unwrap() error { return e.Err }

// ErrRepeatedPageToken is matched by the [*PagingError] of a listing the Market sent a
// page token it had sent before, which would otherwise loop forever.
var ErrRepeatedPageToken = errors.New("the Market repeated a page token")

// ErrNoProgress is matched by the [*PagingError] of a listing that got [MaxEmptyPages]
// pages in a row, each with a fresh token, that brought nothing new.
var ErrNoProgress = errors.New("the Market sent page after page with nothing new on them")

// PagingError stops a listing that makes no progress (see [ErrRepeatedPageToken] and
// [ErrNoProgress]) before it spends the quota. The library's iterators and the CLI
// return the same error.
type PagingError struct {
	// Operation is the listing's operation, e.g. [OpGetChats].
	Operation Operation
	// Pages is how many pages the listing had read.
	Pages int
	// Token is the last page token the Market sent.
	Token string
	// Err is [ErrRepeatedPageToken] or [ErrNoProgress].
	Err error
}

// Error implements error.
func (e *PagingError) Error() string {
	return fmt.Sprintf("chatclient: %s: stopped after %s: %v (last token %q)", e.Operation, plural(e.Pages, "page"), e.Err, excerpt([]byte(e.Token)))
}

// Unwrap returns [ErrRepeatedPageToken] or [ErrNoProgress].
func (e *PagingError) Unwrap() error { return e.Err }

// redirectError is what a redirect the client will not follow (a loop, too many, or
// one the caller's policy refused) comes back as: it cannot clear, so it is not retried.
type redirectError struct{ err error }

func (e *redirectError) Error() string { return "redirect refused: " + e.err.Error() }

func (e *redirectError) Unwrap() error { return e.err }

// excerptLen bounds the body excerpts errors carry.
const excerptLen = 200

// excerpt returns the start of body, at most excerptLen bytes, as readable text: valid
// UTF-8, runs of white space and control characters folded to one space.
func excerpt(body []byte) string {
	if len(body) > excerptLen {
		body = body[:excerptLen]
	}
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(string(body), "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
