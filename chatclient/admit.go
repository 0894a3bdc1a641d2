package chatclient

import (
	"context"
	"time"
)

// admit takes an in-flight slot of the business (unless held, a slot kept through a
// parallel-limit backoff, is given) and a place in the operation's quota, through the
// client's [Limits]. While the quota is known to be spent, it waits for the reset when
// that fits the caller's budget, and otherwise fails at once with a *RateLimitError,
// sending nothing.
func (c *Client) admit(ctx context.Context, key QuotaKey, n int, held *Ticket) (Ticket, error) {
	var paced time.Time // the reset the hook was last told of
	for {
		now := c.clock.Now()
		a, err := c.limits.Admit(ctx, key, held, c.market.at(now))
		held = nil // used, or given back with the refusal
		switch {
		case err != nil:
			return Ticket{}, err
		case a.OK:
			return a.Ticket, nil
		case a.Until.IsZero():
			// Requests in flight hold what is left of the quota: wait for an answer.
			if err := c.awaitRelease(ctx, a.Wake); err != nil {
				return Ticket{}, err
			}
			continue
		}
		wait := a.Until.Sub(c.market.at(now))
		if !c.canWait(ctx, now, wait) {
			return Ticket{}, &RateLimitError{Operation: key.Operation, BusinessID: key.BusinessID, Limit: a.Limit, Remaining: 0,
				Until: a.Until, RetryAfter: wait, Window: documentedWindow}
		}
		info := RetryInfo{Operation: key.Operation, BusinessID: key.BusinessID, Attempt: n, Wait: wait, Reason: WaitQuotaPacing}
		if a.Wake == nil {
			if err := c.wait(ctx, info); err != nil {
				return Ticket{}, err
			}
			continue
		}
		// A shared store may learn of the reset from another process first: ask again
		// when it says so. The hook hears of each window's wait once.
		if !a.Until.Equal(paced) {
			paced = a.Until
			if c.hook != nil {
				c.hook(info)
			}
		}
		if err := c.sleepUntilReleased(ctx, wait, a.Wake); err != nil {
			return Ticket{}, err
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

// heldPause is how long admit pauses before asking again when a Limits implementation
// cannot signal the release of a place in the quota (Admission.Wake is nil).
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
