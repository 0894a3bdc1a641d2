package redislimit

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
)

// Limiter shares the Market's limits of each business through Redis. It implements
// [chatclient.Limits] and is safe for concurrent use. Call Close when done with it.
type Limiter struct {
	rdb      redis.UniversalClient
	cfg      config
	idPrefix string // this Limiter's, so that the ids of processes never collide
	seq      atomic.Uint64
	health   *health
	local    chatclient.Limits // while Redis is away: this process's share of the slots
	renewals *renewals

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // ends of calls sent in the background
}

var _ chatclient.Limits = (*Limiter)(nil)

// localSlot is the slot id of the tickets the local fallback gave: they go back there,
// wherever Redis is by then.
const localSlot = "local"

// windowSlack is how long a window's key outlives its until: the Market's clock and the
// client's estimate of it may differ by a second or so.
const windowSlack = 5 * time.Second

// New returns a Limiter on rdb. rdb must honour context deadlines (for go-redis's
// clients, ContextTimeoutEnabled: true); New returns an error for a *redis.Client,
// *redis.ClusterClient or *redis.Ring that does not. New asks Redis once, bounded by the
// op timeout, whether the Limiter may run its script on its keys: it returns an error
// wrapping [ErrRefused] when Redis refuses, and a Limiter that starts on local limits
// when Redis does not answer.
func New(rdb redis.UniversalClient, opts ...Option) (*Limiter, error) {
	cfg, err := newConfig(opts)
	switch {
	case err != nil:
		return nil, err
	case rdb == nil:
		return nil, errors.New("redislimit: nil Redis client")
	case !honoursDeadlines(rdb):
		return nil, errors.New("redislimit: the Redis client must be created with ContextTimeoutEnabled: true, " +
			"or its calls cannot be bounded by the op timeout")
	}
	share := min(cfg.max, max(1, (cfg.max+cfg.fleet-1)/cfg.fleet)) // 0: no bound
	var b [6]byte
	_, _ = crand.Read(b[:])
	l := &Limiter{rdb: rdb, cfg: cfg, idPrefix: hex.EncodeToString(b[:]) + ":",
		health: &health{probe: cfg.probe, prefix: cfg.prefix, log: cfg.logger},
		local:  chatclient.NewLocalLimits(share)}
	l.renewals = &renewals{every: cfg.leaseTTL / 3, renew: l.renew, timers: make(map[string]*time.Timer)}
	_, err = l.run(context.Background(), chatclient.QuotaKey{}, "window")
	if err := l.health.settle(context.Background(), err, false); errors.Is(err, ErrRefused) {
		return nil, err
	}
	return l, nil
}

func honoursDeadlines(rdb redis.UniversalClient) bool {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

// Admit takes an in-flight slot of key's business and a place in key's quota at now, the
// Market's time, both or neither, in one round trip when a slot is free; with held, a
// slot kept through a backoff, only the place, giving the slot back if the quota has no
// room. It implements [chatclient.Limits]. A caller that finds every slot taken waits
// its turn in the business's queue, in order of arrival across the fleet, until ctx
// ends. It returns ctx's error or one wrapping [ErrRefused]; when Redis fails the call
// goes on local limits.
func (l *Limiter) Admit(ctx context.Context, key chatclient.QuotaKey, held *chatclient.Ticket, now time.Time) (chatclient.Admission, error) {
	if err := ctx.Err(); err != nil {
		return chatclient.Admission{}, err
	}
	if held == nil || held.Slot != localSlot {
		if ok, probe := l.health.useRedis(); ok {
			a, err := l.admitRedis(ctx, key, held, now, probe)
			if !errors.Is(err, errFallback) {
				return a, err
			}
		} else if held != nil {
			l.abandon(ctx, key, held.Slot, "") // a slot kept in Redis before it failed
		}
		held = nil // a slot of Redis's is given back by now
	}
	a, err := l.local.Admit(ctx, key, held, now)
	if a.OK {
		a.Ticket.Slot = localSlot
	}
	return a, err
}

func (l *Limiter) admitRedis(ctx context.Context, key chatclient.QuotaKey, held *chatclient.Ticket, now time.Time, probe bool) (chatclient.Admission, error) {
	place, start, mnow := l.idPrefix+strconv.FormatUint(l.seq.Add(1), 36), time.Now(), now
	slot := place
	if held != nil {
		slot = held.Slot
	}
	v, err := l.wait(ctx, key, slot, place, probe, func(ctx context.Context) ([]int64, error) {
		mnow = now.Add(time.Since(start)) // the Market's clock moves on while the caller waits
		return l.run(ctx, key, "admit", place, slot, l.cfg.max, l.cfg.leaseTTL.Milliseconds(),
			l.waitTTL().Milliseconds(), mnow.UnixMilli(), l.cfg.reservationTTL.Milliseconds())
	})
	if err != nil {
		return chatclient.Admission{}, err
	}
	a := chatclient.Admission{OK: v[0] == answerTaken, Limit: v[1]}
	switch {
	case a.OK:
		a.Ticket = chatclient.Ticket{Key: key, Slot: slot, Place: place}
		if l.cfg.max > 0 {
			l.renewals.start(key, slot)
		}
		return a, nil
	case v[2] != 0:
		a.Until = time.UnixMilli(v[2])
		a.Wake = resetWake(a.Until.Sub(mnow))
	} // else places in flight hold what is left: the client asks again after a pause
	l.renewals.stop(slot) // a kept slot went back with the refusal
	return a, nil
}

// Done gives back what t took, where it was taken, recording report (nil: no answer):
// in Redis one round trip, in force when Done returns, so that the caller's next Admit
// sees it. With keepSlot the slot stays taken (and renewed) and Done returns the ticket
// to pass to Admit as held. It implements [chatclient.Limits].
func (l *Limiter) Done(ctx context.Context, t chatclient.Ticket, report *chatclient.RateLimit, now time.Time, keepSlot bool) *chatclient.Ticket {
	switch {
	case t.Slot == localSlot:
		return l.local.Done(ctx, t, report, now, keepSlot)
	case keepSlot:
		l.end(ctx, t.Key, "", t.Place, report, now)
		return &chatclient.Ticket{Key: t.Key, Slot: t.Slot}
	}
	l.renewals.stop(t.Slot)
	l.end(ctx, t.Key, t.Slot, t.Place, report, now)
	return nil
}

// end sends the end of a call to Redis: at once, bounded by the op timeout and ctx; in
// the background, bounded by the op timeout alone, once ctx has ended or while Redis is
// away (nothing waits on a dead Redis). What a failed end gives back expires by itself.
func (l *Limiter) end(ctx context.Context, key chatclient.QuotaKey, slot, place string, report *chatclient.RateLimit, now time.Time) {
	args := []any{slot, place, now.UnixMilli(), "", -1, -1, 0, windowSlack.Milliseconds()}
	if report != nil {
		args[3], args[4], args[5], args[6] = "1", report.Limit, report.Remaining, report.Until.UnixMilli()
	}
	if ctx.Err() == nil && !l.Degraded() {
		if _, err := l.run(ctx, key, "done", args...); err == nil || ctx.Err() == nil {
			l.note(err, "end of a call")
			return
		}
	}
	l.background(func() {
		_, err := l.run(context.Background(), key, "done", args...)
		l.note(err, "end of a call")
	})
}

// abandon gives back slot and place, which a call that did not get through may hold.
func (l *Limiter) abandon(ctx context.Context, key chatclient.QuotaKey, slot, place string) {
	l.renewals.stop(slot)
	l.end(ctx, key, slot, place, nil, time.Time{})
}

// Snapshot returns what is known of key's current window at now, the Market's time. It
// implements [chatclient.Limits].
func (l *Limiter) Snapshot(ctx context.Context, key chatclient.QuotaKey, now time.Time) (chatclient.RateLimit, bool) {
	if ok, probe := l.health.useRedis(); ok {
		v, err := l.run(ctx, key, "window")
		switch err := l.health.settle(ctx, err, probe); {
		case err == nil && (v[0] <= 0 || v[1] < 0 || !time.UnixMilli(v[0]).After(now)):
			return chatclient.RateLimit{Limit: -1, Remaining: -1}, false
		case err == nil:
			return chatclient.RateLimit{Limit: v[2], Remaining: v[1], Until: time.UnixMilli(v[0])}, true
		case errors.Is(err, ErrRefused):
			l.cfg.logger.Error("redislimit: snapshot refused", "error", err.Error())
		}
	}
	return l.local.Snapshot(ctx, key, now)
}

// renew pushes slot's expiry a lease TTL away; false when the slot is gone.
func (l *Limiter) renew(key chatclient.QuotaKey, slot string) bool {
	v, err := l.run(context.Background(), key, "renew", slot, l.cfg.leaseTTL.Milliseconds())
	l.note(err, "slot renewal")
	if err == nil && v[0] != answerTaken {
		l.cfg.logger.Warn("redislimit: a slot expired before it was renewed; the request runs on", "business", key.BusinessID)
		return false
	}
	return true
}

// note settles the outcome of a Redis call made for no caller (an end, a renewal).
func (l *Limiter) note(err error, what string) {
	switch err := l.health.settle(context.Background(), err, false); {
	case errors.Is(err, ErrRefused):
		l.cfg.logger.Error("redislimit: "+what+" refused", "error", err.Error())
	case err != nil:
		l.cfg.logger.Debug("redislimit: " + what + " failed; what it gives back expires by itself")
	}
}

// background runs f tracked by Close; once the Limiter is closed, it runs f at once.
func (l *Limiter) background(f func()) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		f()
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.wg.Done()
		f()
	}()
}

// Close stops the renewal of the slots still held and waits for the ends of calls on
// their way, each bounded by the op timeout. Slots of calls still running are not given
// back: they expire within the lease TTL. Close does not close rdb.
func (l *Limiter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.renewals.close()
	l.wg.Wait()
	return nil
}

// Degraded reports whether the Limiter is serving from in-process limits because Redis
// failed.
func (l *Limiter) Degraded() bool { return l.health.degraded() }
