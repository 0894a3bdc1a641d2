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

// Operation names an API operation, as the Market's documents and the errors call it.
type Operation string

// The operations of the chat API.
const (
	OpCreateChat        Operation = "createChat"
	OpGetChat           Operation = "getChat"
	OpGetChats          Operation = "getChats"
	OpGetChatHistory    Operation = "getChatHistory"
	OpGetChatMessage    Operation = "getChatMessage"
	OpSendMessageToChat Operation = "sendMessageToChat"
	OpSendFileToChat    Operation = "sendFileToChat"
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
	var held func() // an in-flight lease kept through a parallel-limit backoff
	for n := 1; ; n++ {
		took, err := c.admit(ctx, key, n, held)
		if err != nil {
			return answer{}, err
		}
		held = nil
		at := c.send(ctx, cl)
		now := at.end
		var report *RateLimit
		if at.status != 0 {
			report = &at.report.RateLimit
		}
		mnow := c.market.at(now)

		d := decide(at.outcome, now)
		if cl.once && d.mayHaveActed {
			// The Market may have acted on this request: never send it again blindly.
			last := c.attemptError(cl, at)
			putBody(at.buf)
			took.end(report, mnow, false)
			c.logAttempt(cl, n, at, 0, "", last)
			return answer{}, &ambiguousError{err: last, end: now}
		}
		if !d.retry {
			took.end(report, mnow, false)
			c.logAttempt(cl, n, at, 0, "", nil)
			return c.finish(cl, &at)
		}
		last := c.attemptError(cl, at)
		putBody(at.buf)
		wait := d.wait
		if d.reason == WaitQuotaReset || d.reason == WaitRetryAfter {
			if n >= c.policy.MaxAttempts || !c.canWait(ctx, now, wait) {
				took.end(report, mnow, false)
				c.logAttempt(cl, n, at, 0, "", last)
				return answer{}, c.rateLimitError(cl, at, wait, last)
			}
		} else {
			if n >= c.policy.MaxAttempts {
				took.end(report, mnow, false)
				c.logAttempt(cl, n, at, 0, "", last)
				return answer{}, &RetryError{Operation: cl.op, Attempts: n, Err: last}
			}
			b := c.policy.Backoff
			if d.reason == WaitParallelLimit {
				b = c.policy.ParallelBackoff
			}
			wait = time.Duration(c.jitter(int64(b.Cap(n)) + 1))
		}
		c.logAttempt(cl, n, at, wait, d.reason, last)
		if dl, ok := ctx.Deadline(); ok && !now.Add(wait).Before(dl) {
			took.end(report, mnow, false)
			return answer{}, &RetryError{Operation: cl.op, Attempts: n, Err: last, Cause: context.DeadlineExceeded}
		}
		// After a parallel-limit 420 the request keeps its lease while it waits: a client
		// the Market finds too eager sends fewer requests at once, not the same number.
		if d.reason == WaitParallelLimit {
			held = took.end(report, mnow, true)
		} else {
			took.end(report, mnow, false)
		}
		if err := c.wait(ctx, RetryInfo{Operation: cl.op, BusinessID: cl.business, Attempt: n + 1, Wait: wait, Reason: d.reason, StatusCode: at.status, Err: last}); err != nil {
			if held != nil {
				held()
			}
			return answer{}, &RetryError{Operation: cl.op, Attempts: n, Err: last, Cause: err}
		}
	}
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

// admitted is what admit took for an attempt: an in-flight lease and a place in the
// quota, given back by end. A plain struct, not a closure: the everyday path (the
// client's own in-process limits) allocates nothing to admit a call.
type admitted struct {
	c     *Client
	ctx   context.Context
	key   QuotaKey
	local *localLeases // the lease is a slot of these, when they are the client's own
	lease func()       // otherwise the lease's release, from Leases.Acquire
	// adm, from an Admitter, gives back the lease and the reservation together.
	adm func(ctx context.Context, report *RateLimit, now time.Time, keep bool) func()
}

// end gives back the reservation, recording report (nil when there was no answer),
// and the lease, unless keep: then it returns the func that gives the lease back
// later. It is called once.
func (a admitted) end(report *RateLimit, now time.Time, keep bool) (lease func()) {
	if a.adm != nil {
		return a.adm(a.ctx, escaped(report), now, keep)
	}
	if q, ok := a.c.quotas.(*localQuotas); ok {
		q.Release(a.ctx, a.key, report, now) // keeps nothing of report: it stays on the caller's stack
	} else {
		a.c.quotas.Release(a.ctx, a.key, escaped(report), now)
	}
	switch {
	case a.local == nil && keep:
		return a.lease
	case a.local == nil:
		a.lease()
	case keep:
		return func() { a.local.release(a.key.BusinessID) }
	default:
		a.local.release(a.key.BusinessID)
	}
	return nil
}

// escaped is a copy of r (nil for nil) for a callee that may keep it.
func escaped(r *RateLimit) *RateLimit {
	if r == nil {
		return nil
	}
	cp := *r
	return &cp
}

// admit takes an in-flight lease of the business (unless held, a lease kept through a
// parallel-limit backoff, is given) and a place in the operation's quota. The lease
// comes first: a request queued behind a full limit must not pass the quota check on
// what was known before the requests ahead of it were answered. An [Admitter] takes
// both in one step. While the quota is known to be spent, admit gives the lease back
// and waits for the reset when that fits the caller's budget, and otherwise fails at
// once with a *RateLimitError, sending nothing.
func (c *Client) admit(ctx context.Context, key QuotaKey, n int, held func()) (admitted, error) {
	adm, oneStep := c.leases.(Admitter)
	local, _ := c.leases.(*localLeases)
	var paced time.Time // the reset the hook was last told of
	for {
		now := c.clock.Now()
		var r Reservation
		switch {
		case held != nil:
			var err error
			if r, err = c.quotas.Reserve(ctx, key, c.market.at(now)); err == nil && r.OK {
				return admitted{c: c, ctx: ctx, key: key, lease: held}, nil
			}
			held()
			held = nil
			if err != nil {
				return admitted{}, err
			}
		case oneStep:
			a, err := adm.Admit(ctx, key, c.market.at(now))
			if err != nil {
				return admitted{}, err
			}
			if a.OK {
				return admitted{ctx: ctx, adm: a.Done}, nil
			}
			if a.Busy {
				if err := c.awaitRelease(ctx, a.Released); err != nil {
					return admitted{}, err
				}
				continue
			}
			r = a.Reservation
		default:
			took := admitted{c: c, ctx: ctx, key: key, local: local}
			waited, err := true, error(nil)
			if local != nil {
				waited, err = local.acquire(ctx, key.BusinessID)
			} else {
				took.lease, err = c.leases.Acquire(ctx, key.BusinessID)
			}
			if err != nil {
				return admitted{}, err
			}
			if waited {
				now = c.clock.Now()
			}
			if r, err = c.quotas.Reserve(ctx, key, c.market.at(now)); err == nil && r.OK {
				return took, nil
			}
			if local != nil {
				local.release(key.BusinessID)
			} else {
				took.lease()
			}
			if err != nil {
				return admitted{}, err
			}
		}
		if r.Until.IsZero() {
			// Requests in flight hold what is left of the quota: wait for an answer.
			if err := c.awaitRelease(ctx, r.Released); err != nil {
				return admitted{}, err
			}
			continue
		}
		wait := r.Until.Sub(c.market.at(now))
		if !c.canWait(ctx, now, wait) {
			return admitted{}, &RateLimitError{Operation: key.Operation, BusinessID: key.BusinessID, Limit: r.Limit, Remaining: 0,
				Until: r.Until, RetryAfter: wait}
		}
		info := RetryInfo{Operation: key.Operation, BusinessID: key.BusinessID, Attempt: n, Wait: wait, Reason: WaitQuotaPacing}
		if r.Released == nil {
			if err := c.wait(ctx, info); err != nil {
				return admitted{}, err
			}
			continue
		}
		// A shared store may learn of the reset from another process first: ask again
		// when it says so. The hook hears of each window's wait once.
		if !r.Until.Equal(paced) {
			paced = r.Until
			if c.hook != nil {
				c.hook(info)
			}
		}
		if err := c.sleepUntilReleased(ctx, wait, r.Released); err != nil {
			return admitted{}, err
		}
	}
}

// sleepUntilReleased sleeps for d on the client's clock, ending early when released
// is closed; it returns ctx's error if ctx ends first.
func (c *Client) sleepUntilReleased(ctx context.Context, d time.Duration, released <-chan struct{}) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-released:
			cancel()
		case <-sctx.Done():
		}
	}()
	if err := c.clock.Sleep(sctx, d); err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// heldPause is how long admit pauses before asking again when a Quotas implementation
// cannot signal the release of a reservation (Reservation.Released is nil).
const heldPause = 20 * time.Millisecond

func (c *Client) awaitRelease(ctx context.Context, released <-chan struct{}) error {
	if released == nil {
		return c.clock.Sleep(ctx, heldPause)
	}
	select {
	case <-released:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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
	return e
}
