package redislimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// Reserve claims one request of key's quota at now, the Market's time. It implements
// [chatclient.Quotas]. A Redis failure falls back to in-process quotas; it returns
// ctx's error, or one wrapping [ErrRefused]. A refusal while reservations in flight
// hold the rest has a nil Released: the client asks again after a short pause.
func (l *Limiter) Reserve(ctx context.Context, key chatclient.QuotaKey, now time.Time) (chatclient.Reservation, error) {
	if err := ctx.Err(); err != nil {
		return chatclient.Reservation{}, err
	}
	if r, probe := l.route(); r != viaLocal {
		keys := l.keys(key.BusinessID, key.Operation)
		id := l.newID()
		octx, cancel := l.opContext(ctx)
		v, err := l.run(octx, keys, "reserve", id, now.UnixMilli(), l.cfg.reservationTTL.Milliseconds())
		cancel()
		err = l.settle(ctx, err, probe)
		if err == nil {
			r := chatclient.Reservation{OK: v[0] == answerTaken, Limit: v[1]}
			if r.OK {
				l.pushHeld(key, id)
			} else if v[2] != 0 {
				r.Until = time.UnixMilli(v[2])
				r.Released = l.resetWake(key, r.Until, r.Until.Sub(now))
			}
			return r, nil
		}
		if errors.Is(err, ErrRefused) {
			return chatclient.Reservation{}, err
		}
		// Redis may have counted the reservation.
		l.abandon(keys, id)
		if !errors.Is(err, errFallback) {
			return chatclient.Reservation{}, err
		}
	}
	r, err := l.localQuotas.Reserve(ctx, key, now)
	if err == nil && r.OK {
		l.pushHeld(key, "")
	}
	return r, err
}

// Release gives back a reservation of key's quota and records report, what the answer
// said of the quota (nil when there was none). It implements [chatclient.Quotas]. A
// reservation is given back where it was taken.
func (l *Limiter) Release(ctx context.Context, key chatclient.QuotaKey, report *chatclient.RateLimit, now time.Time) {
	id, ok := l.popHeld(key)
	switch {
	case ok && id == "", !ok && report != nil && l.Degraded():
		l.localQuotas.Release(ctx, key, report, now)
	case ok || report != nil:
		l.end(ctx, endOp{business: key.BusinessID, key: key, keys: l.keys(key.BusinessID, key.Operation),
			res: id, report: report, now: now})
	}
}

// Snapshot returns what is known of key's current window at now, the Market's time.
// It implements [chatclient.Quotas].
func (l *Limiter) Snapshot(ctx context.Context, key chatclient.QuotaKey, now time.Time) (chatclient.RateLimit, bool) {
	if r, probe := l.route(); r != viaLocal {
		octx, cancel := l.opContext(ctx)
		v, err := l.rdb.HMGet(octx, l.keys(key.BusinessID, key.Operation)[3], "until", "remaining", "limit").Result()
		cancel()
		switch err := l.settle(ctx, err, probe); {
		case err == nil:
			untl, rem, lim := field(v[0]), field(v[1]), field(v[2])
			if untl <= 0 || rem < 0 || !time.UnixMilli(untl).After(now) {
				return chatclient.RateLimit{Limit: -1, Remaining: -1}, false
			}
			return chatclient.RateLimit{Limit: lim, Remaining: rem, Until: time.UnixMilli(untl)}, true
		case errors.Is(err, ErrRefused):
			l.cfg.logger.Error("redislimit: snapshot refused", "error", err.Error())
		}
	}
	return l.localQuotas.Snapshot(ctx, key, now)
}

// field reads a hash field as an integer; -1 when absent or malformed.
func field(v any) int64 {
	s, ok := v.(string)
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func (l *Limiter) pushHeld(k chatclient.QuotaKey, id string) {
	l.resMu.Lock()
	l.held[k] = append(l.held[k], id)
	l.resMu.Unlock()
}

// popHeld takes one of this process's reservations of k: they are interchangeable.
func (l *Limiter) popHeld(k chatclient.QuotaKey) (id string, ok bool) {
	l.resMu.Lock()
	defer l.resMu.Unlock()
	ids := l.held[k]
	if len(ids) == 0 {
		return "", false
	}
	id = ids[len(ids)-1]
	if len(ids) == 1 {
		delete(l.held, k)
	} else {
		l.held[k] = ids[:len(ids)-1]
	}
	return id, true
}

// admitPoll bounds the short pause after which a caller refused while reservations
// in flight hold the rest of a quota asks again.
const admitPoll = 25 * time.Millisecond

// pause returns the channel closed at the next release in this process of a lease or
// a reservation of business, or after a short jittered pause (5 to 25 ms), whichever
// comes first; nil once the Limiter is closed (the client then pauses by itself).
func (l *Limiter) pause(business int64) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	w := l.wakeLocked(business)
	if w.timer == nil {
		w.timer = time.AfterFunc(minPoll+rand.N(admitPoll-minPoll+1), func() { l.kick(business) })
	}
	return w.ch
}

// resetLead is how long before a spent window's estimated reset a waiting caller starts
// asking again: a caller's estimate of the Market's clock may lag by up to about a
// second (Date headers have whole seconds), and whichever process of the fleet passes
// the reset first records the new window for all.
const resetLead = 1200 * time.Millisecond

// maxResetWake bounds the waits resetWake serves; a longer one gets no channel (the
// client waits it out, or refuses a wait past its budget).
const maxResetWake = 2 * time.Minute

// wakeKey names the wait for one reset of one quota.
type wakeKey struct {
	key   chatclient.QuotaKey
	until int64 // ms on the Market's clock
}

// resetWake returns, for a caller that must wait d for the reset at until of key's
// spent window, a channel closed when it should ask again. Within resetLead of the
// reset that is the short pause (pause); before, one channel per reset, shared by
// every caller of this process that waits for it, closed resetLead before it.
func (l *Limiter) resetWake(key chatclient.QuotaKey, until time.Time, d time.Duration) <-chan struct{} {
	if d > maxResetWake {
		return nil
	}
	if d <= resetLead {
		return l.pause(key.BusinessID)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	k := wakeKey{key: key, until: until.UnixMilli()}
	if ch, ok := l.resetWakes[k]; ok {
		return ch
	}
	ch := make(chan struct{})
	l.resetWakes[k] = ch
	time.AfterFunc(d-resetLead, func() {
		l.mu.Lock()
		delete(l.resetWakes, k)
		l.mu.Unlock()
		close(ch)
	})
	return ch
}
