package redislimit

import (
	"context"
	"sync"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// Admit takes an in-flight slot of key.BusinessID and reserves one request of key's
// quota at now, the Market's time, both or neither, in one round trip. It implements
// [chatclient.Admitter]; the client uses it, and Done, instead of Acquire, Reserve,
// Release and the lease's release when the Limiter is both its Leases and its Quotas.
// When every slot is held Admit waits in the business's queue, as Acquire does, until
// a slot is the caller's or ctx ends (it never answers Busy). When the quota is spent
// and resets within two minutes, Released is closed 1.2 s before the reset as this
// process estimates it, then after short pauses: the caller asks again, and is
// admitted as soon as any process has recorded the new window (the estimate may lag
// the Market's clock by up to about a second). It returns ctx's error, or one wrapping
// [ErrRefused]; a Redis failure falls back to in-process limits, as Acquire and
// Reserve do.
func (l *Limiter) Admit(ctx context.Context, key chatclient.QuotaKey, now time.Time) (chatclient.Admission, error) {
	if err := ctx.Err(); err != nil {
		return chatclient.Admission{}, err
	}
	if l.cfg.max == 0 {
		// No bound on the leases: only the quota counts.
		r, err := l.Reserve(ctx, key, now)
		a := chatclient.Admission{Reservation: r}
		if err == nil && r.OK {
			a.Done = func(ctx context.Context, report *chatclient.RateLimit, now time.Time, keepSlot bool) func() {
				l.Release(ctx, key, report, now)
				if keepSlot {
					return func() {}
				}
				return nil
			}
		}
		return a, err
	}
	b := key.BusinessID
	r, probe, err := l.enter(ctx, b)
	if err != nil {
		return chatclient.Admission{}, err
	}
	if r == viaLocal {
		return l.admitLocal(ctx, key, now)
	}
	keys := l.keys(b, key.Operation)
	id := l.newID()
	start := time.Now()
	v, err := l.wait(ctx, keys, id, probe, func(ctx context.Context) ([]int64, error) {
		// The Market's clock moves on while the caller waits for a slot.
		mnow := now.Add(time.Since(start)).UnixMilli()
		return l.run(ctx, keys, "admit", id, l.cfg.max, l.cfg.leaseTTL.Milliseconds(), l.waitTTL().Milliseconds(),
			mnow, l.cfg.reservationTTL.Milliseconds(), l.turns())
	})
	if r, err = l.afterWait(ctx, b, r, err); err != nil {
		return chatclient.Admission{}, err
	}
	if r == viaLocal {
		return l.admitLocal(ctx, key, now)
	}
	if v[0] != answerTaken {
		l.slots.done(b)
		res := chatclient.Reservation{Limit: v[1]}
		if v[2] != 0 {
			res.Until = time.UnixMilli(v[2])
			res.Released = l.resetWake(key, res.Until, res.Until.Sub(now.Add(time.Since(start))))
		} else {
			// Reservations in flight hold what is left: ask again when one is back.
			res.Released = l.pause(b)
		}
		return chatclient.Admission{Reservation: res}, nil
	}
	le := l.newLease(ctx, b, keys, id)
	var once sync.Once
	a := chatclient.Admission{Reservation: chatclient.Reservation{OK: true, Limit: v[1]}}
	a.Done = func(ctx context.Context, report *chatclient.RateLimit, now time.Time, keepSlot bool) (releaseSlot func()) {
		once.Do(func() {
			op := endOp{business: b, key: key, keys: keys, res: id, report: report, now: now}
			if keepSlot {
				// The reservation only; the lease, and its renewal, go on until releaseSlot.
				l.end(ctx, op)
				releaseSlot = le.release
				return
			}
			le.detach()
			op.lease = id
			l.end(ctx, op)
		})
		return releaseSlot
	}
	if err := ctx.Err(); err != nil {
		a.Done(ctx, nil, now, false)
		return chatclient.Admission{}, err
	}
	return a, nil
}

// admitLocal admits on in-process limits, the call's share of the slots already
// counted: it reserves in the local quotas.
func (l *Limiter) admitLocal(ctx context.Context, key chatclient.QuotaKey, now time.Time) (chatclient.Admission, error) {
	r, err := l.localQuotas.Reserve(ctx, key, now)
	if err != nil || !r.OK {
		l.slots.done(key.BusinessID)
		return chatclient.Admission{Reservation: r}, err
	}
	release := l.localRelease(key.BusinessID)
	var once sync.Once
	a := chatclient.Admission{Reservation: r}
	a.Done = func(ctx context.Context, report *chatclient.RateLimit, now time.Time, keepSlot bool) (releaseSlot func()) {
		once.Do(func() {
			l.localQuotas.Release(ctx, key, report, now)
			if keepSlot {
				releaseSlot = release
				return
			}
			release()
		})
		return releaseSlot
	}
	return a, nil
}

// endOp is the end of a call in Redis (the script's done operation).
type endOp struct {
	business int64
	key      chatclient.QuotaKey // the quota, when res or report is set
	keys     []string
	res      string // the reservation to give back; "" for none
	lease    string // the lease to give back; "" for none
	report   *chatclient.RateLimit
	now      time.Time
}

// end runs op in Redis at once, bounded by the op timeout and ctx, so that what a
// caller ended is in force before it asks again. When ctx ends first, op runs again in
// the background bounded by the op timeout alone: what it gives back does not wait for
// its expiry. After a failure the report is kept in the local quotas, where the next
// reservations look, and the lease and the reservation expire by themselves.
func (l *Limiter) end(ctx context.Context, op endOp) {
	send := func(ctx context.Context) error {
		octx, cancel := l.opContext(ctx)
		defer cancel()
		return l.done(octx, op.keys, op.res, op.lease, op.report, op.now)
	}
	finish := func(err error) {
		l.note(err, "end of a call")
		if err != nil && op.report != nil {
			l.localQuotas.Release(context.WithoutCancel(ctx), op.key, op.report, op.now)
		}
		if op.lease != "" {
			l.slots.done(op.business)
		}
		l.kick(op.business)
	}
	if ctx.Err() == nil {
		if err := send(ctx); err == nil || ctx.Err() == nil {
			finish(err)
			return
		}
	}
	l.background(func() { finish(send(context.WithoutCancel(ctx))) })
}
