package redislimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// Pauses between the asks of a caller waiting in its business's queue: minPoll per
// caller ahead of it, at most maxPoll, jittered so that the processes do not ask in step.
const (
	minPoll = 5 * time.Millisecond
	maxPoll = 50 * time.Millisecond
)

func pollDelay(ahead int64) time.Duration {
	d := min(minPoll*time.Duration(max(ahead, 0)+1), maxPoll)
	return d/2 + rand.N(d+1)
}

// waitTTL is how long a waiter stays in the queue without asking again: longer than a
// pause and two asks, each bounded by the op timeout.
func (l *Limiter) waitTTL() time.Duration { return time.Second + 2*l.cfg.opTimeout }

// wait asks (the script's admit) until the answer is not WAIT. A caller that finds every
// slot taken, or promised to callers that came first, waits in the business's queue in
// Redis, in order of arrival across the fleet, asking again after pollDelay. It returns
// the answer, or settle's error; what slot and place may hold in Redis when the caller
// gives up is given back.
func (l *Limiter) wait(ctx context.Context, key chatclient.QuotaKey, slot, place string, probe bool,
	ask func(context.Context) ([]int64, error)) ([]int64, error) {
	for {
		v, err := ask(ctx)
		if err = l.health.settle(ctx, err, probe); err != nil {
			if errors.Is(err, ErrRefused) {
				l.renewals.stop(slot) // a refused call took nothing; a kept slot expires
			} else {
				l.abandon(ctx, key, slot, place)
			}
			return nil, err
		}
		probe = false
		if v[0] != answerWait {
			return v, nil
		}
		t := time.NewTimer(pollDelay(v[1]))
		select {
		case <-ctx.Done():
			t.Stop()
			l.abandon(ctx, key, slot, place)
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// resetLead is how long before a spent window's reset, as this process estimates the
// Market's clock (it may lag by a second: Date headers have whole seconds), a caller
// starts asking again: whichever process passes the reset first records the new window
// for all.
const resetLead = 1200 * time.Millisecond

// resetWake returns, for a caller that waits d for a spent window's reset, the channel
// closed when it should ask again: resetLead before the reset, within it after a short
// pause (5 to 25 ms); none past two minutes (the caller asks again at the reset).
func resetWake(d time.Duration) <-chan struct{} {
	if d > 2*time.Minute {
		return nil
	}
	ch := make(chan struct{})
	time.AfterFunc(max(d-resetLead, minPoll+rand.N(20*time.Millisecond)), func() { close(ch) })
	return ch
}
