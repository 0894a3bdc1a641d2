package chatclient

import (
	"context"
	"sync"
	"time"
)

// Leases hands out the in-flight slots of each business: the Market serves at most 4
// requests of a business at once. The client takes a lease before every request and
// gives it back when the answer is in. [NewLocalLeases] is the in-process default;
// package redislimit shares leases between processes.
type Leases interface {
	// Acquire waits until a slot of businessID is free and takes it, or returns ctx's
	// error. release gives the slot back; the client calls it exactly once.
	Acquire(ctx context.Context, businessID int64) (release func(), err error)
}

// QuotaKey names the hourly quota of one operation of one business.
type QuotaKey struct {
	// BusinessID is the business the quota belongs to.
	BusinessID int64
	// Operation is the operation it counts.
	Operation Operation
}

// Quotas keeps what the Market reported of each quota's window, so that the client
// paces a spent quota instead of sending requests the Market would refuse.
// [NewLocalQuotas] is the in-process default; package redislimit shares the windows
// between processes. All times are on the Market's clock (see [Client.MarketTime]).
type Quotas interface {
	// Reserve claims one request of key's quota at now. When the quota has room (or
	// nothing is known of it) it returns OK; the client then sends the request and calls
	// Release once its answer is in.
	Reserve(ctx context.Context, key QuotaKey, now time.Time) (Reservation, error)
	// Release gives back a reservation and records what the answer reported of the
	// quota; report is nil when there was no answer.
	Release(ctx context.Context, key QuotaKey, report *RateLimit, now time.Time)
	// Snapshot returns what is known of key's current window, if anything.
	Snapshot(ctx context.Context, key QuotaKey, now time.Time) (RateLimit, bool)
}

// Reservation is the answer of [Quotas.Reserve].
type Reservation struct {
	// OK is true when the request may be sent.
	OK bool
	// Limit is the quota, -1 when unknown.
	Limit int64
	// Until, when not OK, is when the spent quota resets. Zero when the quota has room
	// that requests in flight hold: the client waits for Released, then asks again.
	Until time.Time
	// Released, when not OK and Until is zero, is closed when a reservation is given
	// back. Nil means ask again after a short pause.
	//
	// With Until set, a store shared by several processes may also give a Released:
	// closed when it is worth asking again before Until. The client's estimate of the
	// Market's clock may lag by up to about a second (the Date header has whole
	// seconds), while another process may already have seen the reset and recorded the
	// new window. The client then asks again, and otherwise waits until Until.
	Released <-chan struct{}
}

// Admitter is an optional interface of a store that keeps both the leases and the
// quotas, such as package redislimit's Limiter given to both [WithLeases] and
// [WithQuotas]. With it the client takes a lease and a place in the quota in one step
// and gives both back in one: one round trip each way to a shared store instead of
// two.
type Admitter interface {
	// Admit takes one of key.BusinessID's in-flight slots and reserves one request of
	// key's quota at now (the Market's clock): both, or neither.
	Admit(ctx context.Context, key QuotaKey, now time.Time) (Admission, error)
}

// Admission is the answer of [Admitter.Admit].
type Admission struct {
	// Reservation says whether the quota had room, as [Quotas.Reserve] does. Without
	// OK nothing is held.
	Reservation
	// Busy reports that every slot of the business was taken: nothing is held. The
	// client waits for Released (nil: a short pause) and asks again.
	Busy bool
	// Done, with OK, gives back the reservation, recording report (nil when there was
	// no answer), and the slot, unless keepSlot: then it returns the func that gives
	// the slot back later (a request keeps its slot through a parallel-limit backoff).
	// The client calls it exactly once.
	Done func(ctx context.Context, report *RateLimit, now time.Time, keepSlot bool) (releaseSlot func())
}

// NewLocalLeases returns leases of max slots per business, kept in this process. The
// state of a business is freed as soon as none of its slots is taken. max 0 means no
// bound.
func NewLocalLeases(max int) Leases {
	if max <= 0 {
		return unbounded{}
	}
	return &localLeases{max: max, taken: make(map[int64]int), waiters: make(map[int64][]chan struct{})}
}

type unbounded struct{}

// Acquire takes nothing: there is no bound.

func (unbounded) Acquire(ctx context.Context, _ int64) (func(), error) {
	return func() {}, ctx.Err()
}

type localLeases struct {
	max     int
	mu      sync.Mutex
	taken   map[int64]int             // slots taken, per business; absent when none
	waiters map[int64][]chan struct{} // requests waiting for a slot, first come first served
}

func (l *localLeases) Acquire(ctx context.Context, business int64) (func(), error) {
	if _, err := l.acquire(ctx, business); err != nil {
		return nil, err
	}
	return func() { l.release(business) }, nil
}

// acquire takes a slot of business, waiting while all are taken (waited says whether
// it did); release gives it back. The client calls these directly: no closure to
// allocate per call.
func (l *localLeases) acquire(ctx context.Context, business int64) (waited bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	l.mu.Lock()
	if n := l.taken[business]; n < l.max {
		l.taken[business] = n + 1
		l.mu.Unlock()
		return false, nil
	}
	ch := make(chan struct{})
	l.waiters[business] = append(l.waiters[business], ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return true, nil
	case <-ctx.Done():
		l.mu.Lock()
		ws := l.waiters[business]
		for i, w := range ws {
			if w == ch {
				l.dropWaiter(business, ws, i)
				l.mu.Unlock()
				return true, ctx.Err()
			}
		}
		l.mu.Unlock()
		// Handed a slot as the context ended: pass it on.
		l.release(business)
		return true, ctx.Err()
	}
}

func (l *localLeases) dropWaiter(business int64, ws []chan struct{}, i int) {
	ws = append(ws[:i], ws[i+1:]...)
	if len(ws) == 0 {
		delete(l.waiters, business)
	} else {
		l.waiters[business] = ws
	}
}

func (l *localLeases) release(business int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ws := l.waiters[business]; len(ws) > 0 {
		close(ws[0]) // the slot passes to the first waiter
		l.dropWaiter(business, ws, 0)
		return
	}
	if n := l.taken[business]; n > 1 {
		l.taken[business] = n - 1
	} else {
		delete(l.taken, business)
	}
}

// held counts the businesses whose state is kept (for tests).
func (l *localLeases) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.taken) + len(l.waiters)
}

// NewLocalQuotas returns quota windows kept in this process. A window is kept while it
// lasts (what the Market reported is true until its reset) and while requests counted
// in it are in flight, and freed after.
func NewLocalQuotas() Quotas { return &localQuotas{m: make(map[QuotaKey]*window)} }

type localQuotas struct {
	mu    sync.Mutex
	m     map[QuotaKey]*window
	calls int // since the last sweep
}

// window is what is known of one quota's current window.
type window struct {
	limit     int64
	remaining int64         // as last reported for the window ending at until; -1 unknown
	until     time.Time     // zero: nothing known
	reserved  int64         // requests sent whose answers are not in yet
	released  chan struct{} // closed when a reservation is given back; nil if nobody waits
}

func (q *localQuotas) Reserve(_ context.Context, k QuotaKey, now time.Time) (Reservation, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sweep(now)
	w := q.m[k]
	if w == nil {
		w = &window{limit: -1, remaining: -1}
		q.m[k] = w
	}
	if !w.until.IsZero() && !now.Before(w.until) {
		// The window is over: nothing is known of the next one until an answer says.
		// Requests still in flight stay counted: the Market may count them in the new
		// window.
		w.remaining, w.until = -1, time.Time{}
	}
	if w.remaining >= 0 && w.remaining-w.reserved <= 0 {
		if w.remaining > 0 {
			if w.released == nil {
				w.released = make(chan struct{})
			}
			return Reservation{Limit: w.limit, Released: w.released}, nil
		}
		return Reservation{Limit: w.limit, Until: w.until}, nil
	}
	w.reserved++
	return Reservation{OK: true, Limit: w.limit}, nil
}

func (q *localQuotas) Release(_ context.Context, k QuotaKey, rl *RateLimit, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.m[k]
	if w == nil {
		return
	}
	if w.reserved > 0 {
		w.reserved--
	}
	if w.released != nil {
		close(w.released)
		w.released = nil
	}
	if rl != nil && rl.Remaining >= 0 && rl.Until.After(now) {
		switch {
		case rl.Until.After(w.until):
			// A newer window.
			w.until, w.remaining = rl.Until, rl.Remaining
		case rl.Until.Equal(w.until) && (w.remaining < 0 || rl.Remaining < w.remaining):
			// Answers arrive out of order: the lowest count is the latest.
			w.remaining = rl.Remaining
		}
		if rl.Limit >= 0 {
			w.limit = rl.Limit
		}
	}
	if w.reserved == 0 && !w.until.After(now) {
		delete(q.m, k)
	}
}

func (q *localQuotas) Snapshot(_ context.Context, k QuotaKey, now time.Time) (RateLimit, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.m[k]
	if w == nil || !w.until.After(now) {
		return RateLimit{Limit: -1, Remaining: -1}, false
	}
	return RateLimit{Limit: w.limit, Remaining: w.remaining, Until: w.until}, true
}

// sweep frees the windows that are over and hold no request, once every len(m) calls:
// amortized constant time per call.
func (q *localQuotas) sweep(now time.Time) {
	q.calls++
	if q.calls < len(q.m) {
		return
	}
	q.calls = 0
	for k, w := range q.m {
		if w.reserved == 0 && w.released == nil && !w.until.After(now) {
			delete(q.m, k)
		}
	}
}

// held counts the quota windows kept (for tests).
func (q *localQuotas) held() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.m)
}
