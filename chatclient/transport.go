package chatclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ymchat/ymchat/api"
)

// call is the state of one API call, carried to the doer in the request's context.
type call struct {
	op       string
	business int64
	buf      *bytes.Buffer // the answer the doer returned; back to the pool when done
}

// body is the answer's body, until done.
func (cl *call) body() []byte {
	if cl.buf == nil {
		return nil
	}
	return cl.buf.Bytes()
}

// done returns the answer's buffer to the pool. Decoding copies what it keeps, so
// nothing refers to the buffer after.
func (cl *call) done() {
	putBody(cl.buf)
	cl.buf = nil
}

type callKey struct{}

// doer is the HTTP doer the generated client sends through: every request the api
// package builds comes here, and here alone are the limits, retries and waits.
type doer struct{ c *Client }

// Do implements api.HttpRequestDoer.
func (d doer) Do(req *http.Request) (*http.Response, error) {
	cl, _ := req.Context().Value(callKey{}).(*call)
	if cl == nil {
		return nil, errNoCall
	}
	return d.c.send(req, cl)
}

var errNoCall = errors.New("chatclient: request did not come through the client")

var errTooLarge = fmt.Errorf("body exceeds %d bytes", MaxResponseBytes)

// send runs the attempts of one call. It returns the answer when it is a success or an
// answer retrying cannot change (400, 401, 403, 404, ...), with its body read into
// cl.buf; and an error when the call failed for good: a *RateLimitError, a *RetryError,
// a *ResponseError, or the context's error.
func (c *Client) send(req *http.Request, cl *call) (*http.Response, error) {
	ctx := req.Context()
	key := quotaKey{business: cl.business, op: cl.op}
	for attempt := 1; ; attempt++ {
		release, err := c.admit(ctx, cl, key, attempt)
		if err != nil {
			return nil, err
		}
		r, err := attemptRequest(req, attempt)
		if err != nil {
			release()
			c.quotas.release(key, nil, c.clock.Now())
			return nil, err
		}
		// The token goes on our own request; CheckRedirect (see New) takes it off any
		// redirect to another origin.
		r.Header.Set(c.auth.header, c.auth.value)
		start := c.clock.Now()
		resp, err := c.http.Do(r)
		var (
			buf  *bytes.Buffer
			body []byte
		)
		if err == nil {
			buf, err = readBody(resp)
			body = buf.Bytes()
		}
		now := c.clock.Now()
		var rl *RateLimit
		if resp != nil {
			parsed := parseRateLimit(resp.Header)
			rl = &parsed
		}
		c.quotas.release(key, rl, now)

		v := c.judge(ctx, cl, attempt, resp, rl, body, err, now)
		if v.reason != WaitParallelLimit || v.final {
			release()
		}
		if v.final {
			c.logAttempt(cl, attempt, v.status, now.Sub(start), 0, "", v.err)
			if v.err != nil {
				putBody(buf)
				return nil, v.err
			}
			cl.buf = buf // the caller decodes it, then calls done
			resp.Body = http.NoBody
			return resp, nil
		}
		putBody(buf) // the errors made from it copied what they keep
		c.logAttempt(cl, attempt, v.status, now.Sub(start), v.wait, v.reason, v.last)
		if dl, ok := ctx.Deadline(); ok && !now.Add(v.wait).Before(dl) {
			if v.reason == WaitParallelLimit {
				release()
			}
			return nil, &RetryError{Operation: cl.op, Attempts: attempt, Err: v.last, Cause: context.DeadlineExceeded}
		}
		// After a parallel-limit 420 the request keeps its slot while it waits: a client
		// the Market finds too eager sends fewer requests at once, not the same number.
		err = c.wait(ctx, RetryInfo{Operation: cl.op, BusinessID: cl.business, Attempt: attempt + 1, Wait: v.wait, Reason: v.reason, StatusCode: v.status, Err: v.last})
		if v.reason == WaitParallelLimit {
			release()
		}
		if err != nil {
			return nil, &RetryError{Operation: cl.op, Attempts: attempt, Err: v.last, Cause: err}
		}
	}
}

// verdict is what to do after an attempt.
type verdict struct {
	final  bool          // stop: return the answer (err nil) or err
	err    error         // with final: the call's error
	status int           // the answer's status, 0 if none
	reason WaitReason    // without final: why to retry
	wait   time.Duration // without final: how long to wait first
	last   error         // without final: the failure retried
}

// judge decides from the status and headers first, and types the error after.
func (c *Client) judge(ctx context.Context, cl *call, attempt int, resp *http.Response, rl *RateLimit, body []byte, err error, now time.Time) verdict {
	v := verdict{}
	if resp != nil {
		v.status = resp.StatusCode
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return verdict{final: true, status: v.status, err: err}
	case errors.Is(err, errTooLarge):
		return verdict{final: true, status: v.status, err: &ResponseError{Operation: cl.op, StatusCode: v.status, Body: excerpt(body), Err: err}}
	case err != nil:
		v.reason, v.last = WaitNetworkError, err
	case v.status == http.StatusInternalServerError, v.status == http.StatusBadGateway,
		v.status == http.StatusServiceUnavailable, v.status == http.StatusGatewayTimeout:
		v.reason, v.last = WaitServerError, newAPIError(cl.op, resp, body)
	case v.status == 420 || v.status == http.StatusTooManyRequests:
		apiErr := newAPIError(cl.op, resp, body)
		v.last = apiErr
		if rl.Remaining != 0 || !rl.Until.After(now) {
			v.reason = WaitParallelLimit
			break
		}
		v.reason, v.wait = WaitQuotaReset, rl.Until.Sub(now)
		if attempt >= c.policy.MaxAttempts || !c.canWait(ctx, now, v.wait) {
			return verdict{final: true, status: v.status, err: &RateLimitError{Operation: cl.op, BusinessID: cl.business,
				Limit: rl.Limit, Remaining: rl.Remaining, Until: rl.Until, Err: apiErr}}
		}
	default:
		return verdict{final: true, status: v.status}
	}
	if attempt >= c.policy.MaxAttempts {
		return verdict{final: true, status: v.status, err: &RetryError{Operation: cl.op, Attempts: attempt, Err: v.last}}
	}
	if v.wait == 0 {
		b := c.policy.Backoff
		if v.reason == WaitParallelLimit {
			b = c.policy.ParallelBackoff
		}
		v.wait = time.Duration(c.jitter(int64(b.Cap(attempt)) + 1))
	}
	return v
}

// admit takes an in-flight slot of the business and a place in the operation's quota.
// The slot comes first: a request waiting for a slot must not pass the quota check on
// what was known before the requests ahead of it were answered. While an earlier answer
// shows the quota spent, admit gives the slot back and waits for the reset when that is
// within the caller's budget, and otherwise fails at once with a *RateLimitError,
// sending nothing. The returned func frees the slot.
func (c *Client) admit(ctx context.Context, cl *call, key quotaKey, attempt int) (func(), error) {
	for {
		release, err := c.inflight.acquire(ctx, cl.business)
		if err != nil {
			return nil, err
		}
		now := c.clock.Now()
		ok, st, released := c.quotas.reserve(key, now)
		if ok {
			return release, nil
		}
		release()
		if released != nil {
			// Requests in flight hold what is left of the quota: wait for an answer.
			select {
			case <-released:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		wait := st.until.Sub(now)
		if !c.canWait(ctx, now, wait) {
			return nil, &RateLimitError{Operation: cl.op, BusinessID: cl.business, Limit: st.limit, Remaining: 0, Until: st.until}
		}
		if err := c.wait(ctx, RetryInfo{Operation: cl.op, BusinessID: cl.business, Attempt: attempt, Wait: wait, Reason: WaitQuotaPacing}); err != nil {
			return nil, err
		}
	}
}

// canWait reports whether a wait for a quota reset fits the caller's budget: the
// configured maximum and the context deadline.
func (c *Client) canWait(ctx context.Context, now time.Time, wait time.Duration) bool {
	if wait > c.maxWait {
		return false
	}
	dl, ok := ctx.Deadline()
	return !ok || now.Add(wait).Before(dl)
}

// wait tells the hook and sleeps, ending early if ctx ends.
func (c *Client) wait(ctx context.Context, info RetryInfo) error {
	if c.hook != nil {
		c.hook(info)
	}
	return c.clock.Sleep(ctx, info.Wait)
}

func (c *Client) logAttempt(cl *call, attempt, status int, took, wait time.Duration, reason WaitReason, err error) {
	if !c.logger.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []any{"operation", cl.op, "business", cl.business, "attempt", attempt, "status", status, "took", took}
	if wait > 0 {
		attrs = append(attrs, "wait", wait, "reason", string(reason))
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	c.logger.Debug("ymchat request", attrs...)
}

// attemptRequest returns the request to send as attempt n: the original first, then
// clones with the body replayed.
func attemptRequest(req *http.Request, n int) (*http.Request, error) {
	if n == 1 {
		return req, nil
	}
	r := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, errors.New("chatclient: request body cannot be replayed")
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return r, nil
}

// bodies recycles the buffers answers are read into: a listing reads page after page
// of about the same size.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled keeps buffers that grew for an unusually large answer out of the pool.
const maxPooled = 1 << 20

func putBody(b *bytes.Buffer) {
	if b != nil && b.Cap() <= maxPooled {
		bodies.Put(b)
	}
}

// readBody reads at most MaxResponseBytes of the answer into a pooled buffer and
// closes the body.
func readBody(resp *http.Response) (*bytes.Buffer, error) {
	defer resp.Body.Close()
	buf := bodies.Get().(*bytes.Buffer)
	buf.Reset()
	if n := resp.ContentLength; n > 0 && n <= MaxResponseBytes {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, MaxResponseBytes+1)); err != nil {
		return buf, err
	}
	if buf.Len() > MaxResponseBytes {
		return buf, errTooLarge
	}
	return buf, nil
}

// newAPIError types a non-2xx answer, reading the Market's error envelope when the body
// is one.
func newAPIError(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Operation: op, StatusCode: resp.StatusCode, RateLimit: parseRateLimit(resp.Header)}
	var env api.ErrorEnvelope
	if json.Unmarshal(body, &env) == nil {
		for _, d := range env.Errors {
			det := ErrorDetail{Code: d.Code}
			if d.Message != nil {
				det.Message = *d.Message
			}
			e.Errors = append(e.Errors, det)
		}
	}
	if len(e.Errors) == 0 {
		e.Body = excerpt(body)
	}
	return e
}
