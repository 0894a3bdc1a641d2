package redislimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Pauses between the asks of a caller waiting in a business's queue: minPoll per
// caller ahead of it beyond the free slots, at most maxPoll, jittered.
const (
	minPoll = 5 * time.Millisecond
	maxPoll = 50 * time.Millisecond
)

// pollDelay is the pause before a waiter with ahead callers before it asks again.
func pollDelay(ahead int64) time.Duration {
	d := maxPoll
	if ahead >= 0 && ahead < int64(maxPoll/minPoll) {
		d = minPoll * time.Duration(ahead+1)
	}
	return d/2 + rand.N(d+1)
}

// waitTTL is how long a waiter stays in its queue without asking again: longer than a
// pause and two asks, each bounded by the op timeout.
func (l *Limiter) waitTTL() time.Duration { return time.Second + 2*l.cfg.opTimeout }

// Acquire waits until an in-flight slot of businessID is free across all processes
// and takes it, or returns ctx's error. It implements [chatclient.Leases]. Callers are
// served in order of arrival across the fleet. A Redis failure falls back to
// in-process limits; a Redis that refuses the Limiter returns an error wrapping
// [ErrRefused].
func (l *Limiter) Acquire(ctx context.Context, businessID int64) (func(), error) {
	if l.cfg.max == 0 {
		return func() {}, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, probe, err := l.enter(ctx, businessID)
	if err != nil {
		return nil, err
	}
	if r == viaLocal {
		return l.localRelease(businessID), nil
	}
	keys := l.keys(businessID, "")
	id := l.newID()
	_, err = l.wait(ctx, keys, id, probe, func(ctx context.Context) ([]int64, error) {
		return l.run(ctx, keys, "acquire", id, l.cfg.max, l.cfg.leaseTTL.Milliseconds(), l.waitTTL().Milliseconds())
	})
	if r, err = l.afterWait(ctx, businessID, r, err); err != nil {
		return nil, err
	}
	if r == viaLocal {
		return l.localRelease(businessID), nil
	}
	le := l.newLease(ctx, businessID, keys, id)
	if err := ctx.Err(); err != nil {
		le.release()
		return nil, err
	}
	return le.release, nil
}

// enter counts a call of business in this process's slots: at once on route
// viaRedis, where Redis bounds the fleet, and on the others once this process's share
// has room.
func (l *Limiter) enter(ctx context.Context, business int64) (r route, probe bool, err error) {
	r, probe = l.route()
	if r == viaRedis {
		l.slots.add(business)
		return r, false, nil
	}
	if err := l.slots.take(ctx, business); err != nil {
		l.endProbe(probe)
		return r, false, err
	}
	return r, probe, nil
}

// afterWait follows up a wait in Redis, begun on route r, that ended with err: after
// a Redis failure the call goes on locally (viaLocal), within this process's share of
// the slots; after another error its count is given back.
func (l *Limiter) afterWait(ctx context.Context, business int64, r route, err error) (route, error) {
	switch {
	case err == nil:
		return r, nil
	case !errors.Is(err, errFallback):
		l.slots.done(business)
		return r, err
	case r == viaRedis:
		l.slots.done(business)
		if err := l.slots.take(ctx, business); err != nil {
			return r, err
		}
	}
	return viaLocal, nil
}

// wait asks ask (the script's acquire or admit) until it answers other than
// answerWait: the caller waits in the business's queue, in order of arrival across
// the fleet. Each ask is bounded by the op timeout and ctx; between asks the caller
// waits until the script announces its turn (see listen), or a pause that grows with
// the callers ahead of it has passed, or ctx ends. It returns the answer, or settle's error
// (ctx's, a refusal, errFallback). What the script may have taken or queued when an ask
// did not come back, or when ctx ended, is given back in the background.
func (l *Limiter) wait(ctx context.Context, keys []string, id string, probe bool,
	ask func(context.Context) ([]int64, error)) ([]int64, error) {
	wake := l.waiting(id)
	defer l.unwait(id)
	for {
		octx, cancel := l.opContext(ctx)
		v, err := ask(octx)
		cancel()
		if err = l.settle(ctx, err, probe); err != nil {
			if !errors.Is(err, ErrRefused) { // a refused call did nothing
				l.abandon(keys, id)
			}
			return nil, err
		}
		probe = false
		if v[0] != answerWait {
			return v, nil
		}
		l.listen()
		t := time.NewTimer(pollDelay(v[1]))
		select {
		case <-ctx.Done():
			t.Stop()
			l.abandon(keys, id)
			return nil, ctx.Err()
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// abandon gives back in the background whatever id may hold in Redis: its lease, its
// place in the queue and (with a quota's keys) its reservation.
func (l *Limiter) abandon(keys []string, id string) {
	res := ""
	if len(keys) == 5 {
		res = id
	}
	l.background(func() {
		octx, cancel := l.opContext(context.Background())
		defer cancel()
		l.note(l.done(octx, keys, res, id, nil, time.Time{}), "clean-up")
	})
}

// localRelease gives back a slot taken in this process, once.
func (l *Limiter) localRelease(business int64) func() {
	var once sync.Once
	return func() { once.Do(func() { l.slots.done(business) }) }
}

// lease is one slot taken in Redis.
type lease struct {
	l        *Limiter
	ctx      context.Context // the taker's: its deadline bounds the release (see end)
	business int64
	keys     []string
	id       string
	once     sync.Once

	mu    sync.Mutex
	timer *time.Timer // the next renewal; nil when none is due
}

func (l *Limiter) newLease(ctx context.Context, business int64, keys []string, id string) *lease {
	le := &lease{l: l, ctx: ctx, business: business, keys: keys[:3], id: id}
	l.mu.Lock()
	if !l.closed {
		l.leases[le] = struct{}{}
		le.schedule()
	}
	l.mu.Unlock()
	return le
}

// schedule arms the next renewal; the WaitGroup counts it until it runs or is stopped.
func (le *lease) schedule() {
	le.mu.Lock()
	defer le.mu.Unlock()
	le.l.wg.Add(1)
	le.timer = time.AfterFunc(le.l.cfg.leaseTTL/3, le.renew)
}

func (le *lease) stopRenewal() {
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.timer != nil && le.timer.Stop() {
		le.l.wg.Done()
	}
	le.timer = nil
}

func (le *lease) renew() {
	defer le.l.wg.Done()
	le.mu.Lock()
	le.timer = nil
	le.mu.Unlock()
	octx, cancel := le.l.opContext(context.Background())
	v, err := le.l.run(octx, le.keys, "renew", le.id, le.l.cfg.leaseTTL.Milliseconds())
	cancel()
	le.l.note(err, "lease renewal")
	if err == nil && v[0] != answerTaken {
		le.l.cfg.logger.Warn("redislimit: a lease expired before it was renewed; the request runs on", "key", le.keys[0])
		le.l.mu.Lock()
		delete(le.l.leases, le)
		le.l.mu.Unlock()
		return
	}
	le.l.mu.Lock()
	defer le.l.mu.Unlock()
	if _, live := le.l.leases[le]; live && !le.l.closed {
		le.schedule()
	}
}

// release gives the slot back in Redis, where it was taken, once.
func (le *lease) release() {
	if le.detach() {
		le.l.end(le.ctx, endOp{keys: le.keys, lease: le.id, business: le.business})
	}
}

// detach stops the lease's renewal and forgets it, the first time only: it reports
// whether this was the first time (the caller then gives the slot back).
func (le *lease) detach() (first bool) {
	le.once.Do(func() {
		first = true
		l := le.l
		l.mu.Lock()
		delete(l.leases, le)
		le.stopRenewal()
		l.mu.Unlock()
	})
	return first
}

// waiting registers id as a caller of this process waiting in a queue and returns the
// channel that listen signals when the script announces its turn.
func (l *Limiter) waiting(id string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	l.mu.Lock()
	l.waiters[id] = ch
	l.mu.Unlock()
	return ch
}

func (l *Limiter) unwait(id string) {
	l.mu.Lock()
	delete(l.waiters, id)
	l.mu.Unlock()
}

// listen subscribes, once, to the channel on which the script announces whose turn it
// is when a slot is freed, and wakes the waiters of this process it names: a slot
// freed in any process goes to the first waiter within a round trip or two, not after
// its pause. A missed announcement (before the subscription is up, or while Redis is
// away) costs the waiter its pause.
func (l *Limiter) listen() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sub != nil || l.closed {
		return
	}
	ps := l.rdb.Subscribe(context.Background())
	l.sub = ps
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		octx, cancel := l.opContext(context.Background())
		err := ps.Subscribe(octx, l.turns())
		cancel()
		if err != nil {
			l.cfg.logger.Debug("redislimit: subscribing to the turns failed; waiters ask again after their pause", "error", err.Error())
		}
		for m := range ps.Channel() {
			for _, id := range strings.Fields(m.Payload) {
				if strings.HasPrefix(id, l.idPrefix) {
					l.wakeWaiter(id)
				}
			}
		}
	}()
}

func (l *Limiter) wakeWaiter(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch := l.waiters[id]; ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
