package chatclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"time"
)

// call is one API call: what the client's single request path needs to know.
type call struct {
	op       Operation
	business int64
	req      *http.Request // built by a generated request builder; replayed through GetBody
	// once marks a call the Market does not deduplicate (sending a message or a file):
	// it is retried only when the Market certainly did not act on the attempt before.
	once bool
	used bool // req's body has been sent once: later attempts take a fresh one
	// source, when set, reports the failure of the latest attempt's body to read what
	// it sends (a file): the attempt failed before the Market had the whole request.
	source func() error
}

// attempt is what one request produced.
type attempt struct {
	outcome
	buf  *bytes.Buffer // the body, for a status (nil after a transport error)
	took time.Duration
	end  time.Time // when the attempt ended, on the client's clock
}

// do runs one call to the end: admit (an in-flight lease and a place in the quota),
// send, read the answer, classify it, and retry or return. It returns a 2xx answer, or
// the call's error: an *APIError, *RateLimitError, *RetryError, *ResponseError,
// *NetworkError, an ambiguous failure of a once call, or the context's error.
func (c *Client) do(ctx context.Context, cl *call) (answer, error) {
	key := QuotaKey{BusinessID: cl.business, Operation: cl.op}
	var held *Ticket // a slot kept through a parallel-limit backoff
	for n := 1; ; n++ {
		t, err := c.admit(ctx, key, n, held)
		if err != nil {
			return answer{}, err
		}
		at := c.send(ctx, cl)
		s := c.next(ctx, cl, n, &at)
		var report *RateLimit // nil: no answer
		if at.status != 0 {
			rl := at.report.RateLimit // a copy: the store may keep it, and at stays on the stack
			report = &rl
		}
		// The one place an attempt ends. After a parallel-limit 420 the request keeps its
		// slot while it waits: a client the Market finds too eager sends fewer requests
		// at once, not the same number.
		held = c.limits.Done(ctx, t, report, c.market.at(at.end), s.retry && s.reason == WaitParallelLimit)
		c.logAttempt(cl, n, at, s.wait, s.reason, s.last)
		if !s.retry {
			return s.answer, s.err
		}
		if err := c.wait(ctx, RetryInfo{Operation: cl.op, BusinessID: cl.business, Attempt: n + 1, Wait: s.wait, Reason: s.reason, StatusCode: at.status, Err: s.last}); err != nil {
			if held != nil {
				c.limits.Done(ctx, *held, nil, c.MarketTime(), false)
			}
			return answer{}, &RetryError{Operation: cl.op, Attempts: n, Err: s.last, Cause: err}
		}
	}
}

// get carries an operation from request to result: it runs a call whose request a
// generated builder made (err is the builder's error) and returns the result of its
// answer (see result for named).
func get[T any](ctx context.Context, c *Client, op Operation, business int64, req *http.Request, err error, named func(*T) bool) (*T, error) {
	if err != nil {
		return nil, err
	}
	a, err := c.do(ctx, &call{op: op, business: business, req: req})
	if err != nil {
		return nil, err
	}
	return result(c, op, &a, named)
}

// step is what the request path does after an attempt: return, or wait and send again.
type step struct {
	retry  bool
	wait   time.Duration // with retry
	reason WaitReason    // with retry
	answer answer        // without retry: the call's result
	err    error
	last   error // the attempt's failure, if it failed
}

// next decides what follows attempt n: decide's verdict, held to the call's budget
// (its attempts, its deadline, the longest wait for a quota), and to the rule that a
// call sent once is not sent again after an attempt the Market may have acted on.
func (c *Client) next(ctx context.Context, cl *call, n int, at *attempt) step {
	now := at.end
	d := decide(at.outcome, now)
	if !d.retry && !(cl.once && d.mayHaveActed) {
		a, err := c.finish(cl, at)
		return step{answer: a, err: err}
	}
	last := c.attemptError(cl, *at)
	putBody(at.buf)
	switch {
	case cl.once && d.mayHaveActed:
		return step{err: &ambiguousError{err: last, end: now}, last: last}
	case d.reason == WaitQuotaReset || d.reason == WaitRetryAfter:
		if n >= c.policy.MaxAttempts || !c.canWait(ctx, now, d.wait) {
			return step{err: c.rateLimitError(cl, *at, d.wait, last), last: last}
		}
	case n >= c.policy.MaxAttempts:
		return step{err: &RetryError{Operation: cl.op, Attempts: n, Err: last}, last: last}
	default:
		b := c.policy.Backoff
		if d.reason == WaitParallelLimit {
			b = c.policy.ParallelBackoff
		}
		d.wait = time.Duration(c.jitter(int64(b.Cap(n)) + 1))
	}
	if dl, ok := ctx.Deadline(); ok && !now.Add(d.wait).Before(dl) {
		return step{err: &RetryError{Operation: cl.op, Attempts: n, Err: last, Cause: context.DeadlineExceeded}, last: last}
	}
	return step{retry: true, wait: d.wait, reason: d.reason, last: last}
}

// finish turns an attempt that is not retried into the call's result.
func (c *Client) finish(cl *call, at *attempt) (answer, error) {
	if at.err == nil && at.bodyErr == nil && at.status >= 200 && at.status <= 299 {
		return answer{status: at.status, buf: at.buf}, nil
	}
	err := c.attemptError(cl, *at)
	putBody(at.buf)
	return answer{}, err
}

// send makes attempt n of the call and reads its answer.
func (c *Client) send(ctx context.Context, cl *call) attempt {
	var at attempt
	r, err := replay(ctx, cl.req, cl.used)
	cl.used = true
	if err != nil {
		at.err, at.end = err, c.clock.Now()
		return at
	}
	var wrote *bool // only a once call traces whether its headers left (at stays on the stack)
	if cl.once {
		wrote = new(bool)
		r = r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
			WroteHeaders: func() { *wrote = true },
		}))
	}
	// The token goes on our own request only; CheckRedirect (see New) takes it off any
	// redirect to another origin.
	r.Header[c.auth.header] = c.authValue // canonical keys; the slices are never written to
	r.Header["User-Agent"] = userAgentValue
	start := c.clock.Now()
	resp, err := c.http.Do(r)
	if err != nil && cl.source != nil {
		if serr := cl.source(); serr != nil {
			err = &sourceError{err: serr}
		}
	}
	if err == nil {
		at.status, at.header = resp.StatusCode, resp.Header
		at.buf, at.bodyErr = readBody(resp, c.maxBody)
	}
	at.err = err
	at.cancelled = (err != nil || at.bodyErr != nil) && ctx.Err() != nil
	at.end = c.clock.Now()
	at.took = at.end.Sub(start)
	if at.status != 0 {
		at.report = parseReport(at.header, at.end)
		c.market.note(at.report.date, at.end)
	}
	var src *sourceError
	if wrote != nil && !errors.As(err, &src) {
		at.wrote = *wrote
	}
	return at
}

// replay returns the request to send: a copy bound to ctx, with the body produced
// afresh once the original has been sent.
func replay(ctx context.Context, req *http.Request, used bool) (*http.Request, error) {
	r := req.WithContext(ctx)
	if !used || req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("the request body cannot be replayed")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r = r.Clone(ctx)
	r.Body = body
	return r, nil
}

func (c *Client) logAttempt(cl *call, n int, at attempt, wait time.Duration, reason WaitReason, err error) {
	if !c.logger.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []any{"operation", string(cl.op), "business", cl.business, "attempt", n, "status", at.status, "took", at.took}
	if wait > 0 {
		attrs = append(attrs, "wait", wait, "reason", string(reason))
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	c.logger.Debug("ymchat request", attrs...)
}

// attemptError is the error of an attempt that failed, for a RetryError or the log.
func (c *Client) attemptError(cl *call, at attempt) error {
	switch {
	case at.err != nil:
		return &NetworkError{Operation: cl.op, Err: at.err}
	case errors.Is(at.bodyErr, errTooLarge) || (at.bodyErr == nil && at.status >= 200 && at.status <= 299):
		return &ResponseError{Operation: cl.op, StatusCode: at.status, Body: c.excerpt(at.buf.Bytes()), Err: at.bodyErr}
	case at.bodyErr != nil:
		return &NetworkError{Operation: cl.op, Err: fmt.Errorf("reading the HTTP %d answer: %w", at.status, at.bodyErr)}
	}
	return c.apiError(cl.op, at.status, at.report.RateLimit, at.buf.Bytes())
}

// rateLimitError is the error for a quota 420 or a 429 whose wait does not fit the
// caller's budget.
func (c *Client) rateLimitError(cl *call, at attempt, wait time.Duration, last error) *RateLimitError {
	rl := at.report.RateLimit
	e := &RateLimitError{Operation: cl.op, BusinessID: cl.business, Limit: rl.Limit, Remaining: rl.Remaining, RetryAfter: wait}
	if rl.Remaining == 0 {
		e.Until = rl.Until
	}
	errors.As(last, &e.Err)
	e.Window = quotaWindow(e)
	return e
}
