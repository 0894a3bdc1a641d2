package chatclient

import (
	"context"
	"sync"
	"time"
)

// Limits is the one seam between a client and a store of the Market's limits: the
// in-flight slots of each business (the Market serves at most 4 requests of a
// business at once) and the window of each operation's quota. [NewLocalLimits] is the
// in-process default; package redislimit shares the limits between processes through
// Redis. Like aws-sdk-go-v2's retry token, what Admit takes comes back as a value that
// names it, and Done gives back exactly that. All times are on the Market's clock (see
// [Client.MarketTime]).
type Limits interface {
	// Admit takes an in-flight slot of key's business and a place in key's quota at
	// now: both, or neither. held, when not nil, is a slot kept through a backoff (see
	// Done): Admit takes only the place for it, and gives it back if the quota has no
	// room. Admit waits, within ctx, while every slot is taken. When the quota has no
	// room it takes nothing and says when to ask again.
	Admit(ctx context.Context, key QuotaKey, held *Ticket, now time.Time) (Admission, error)
	// Done gives back what t took, recording what the answer reported of the quota
	// (report is nil when there was no answer). With keepSlot it keeps the slot (a
	// request refused for the parallel limit keeps its slot while it backs off) and
	// returns the ticket to pass to the next Admit as held; otherwise it returns nil.
	// The client calls it exactly once for each ticket Admit gave.
	Done(ctx context.Context, t Ticket, report *RateLimit, now time.Time, keepSlot bool) *Ticket
	// Snapshot returns what is known of key's current window, if anything.
	Snapshot(ctx context.Context, key QuotaKey, now time.Time) (RateLimit, bool)
}

// QuotaKey names the hourly quota of one operation of one business.
type QuotaKey struct {
	// BusinessID is the business the quota belongs to.
	BusinessID int64
	// Operation is the operation it counts.
	Operation Operation
}

// Ticket names what [Limits.Admit] took, so that the store gives back exactly that:
// the in-flight slot and the place in the quota, by ids the store chose (a local
// store needs none).
type Ticket struct {
	// Key is the quota the place belongs to; its business owns the slot.
	Key QuotaKey
	// Slot names the in-flight slot.
	Slot string
	// Place names the place in the quota; empty in a ticket Done returned for a kept
	// slot.
	Place string
}

// Admission is the answer of [Limits.Admit].
type Admission struct {
	// OK is true when the slot and the place were taken: Ticket names them.
	OK bool
	// Ticket names what was taken.
	Ticket Ticket
	// Limit is the quota, -1 when unknown.
	Limit int64
	// Until, when not OK, is when the spent quota resets. Zero when the quota has room
	// that requests in flight hold: the client waits for Wake, then asks again.
	Until time.Time
	// Wake, when not OK, is closed when it is worth asking again: a place was given
	// back, or (a store shared by several processes) another process saw the reset
	// before Until on this client's estimate of the Market's clock, which may lag by
	// up to a second. Nil means ask again at Until, or after a short pause when Until
	// is zero.
	Wake <-chan struct{}
}

// NewLocalLimits returns limits kept in this process: maxInFlight slots per business
// (0: no bound) and the quota windows the answers report. The state of a business is
// freed as soon as none of its slots is taken and its windows are over.
func NewLocalLimits(maxInFlight int) Limits {
	return &localLimits{slots: newSlots(maxInFlight), windows: &windows{m: make(map[QuotaKey]*window)}}
}

// localLimits composes the two things it keeps, each with its own lock.
type localLimits struct {
	slots   *slots
	windows *windows
}

func (l *localLimits) Admit(ctx context.Context, key QuotaKey, held *Ticket, now time.Time) (Admission, error) {
	if held == nil {
		if err := l.slots.acquire(ctx, key.BusinessID); err != nil {
			return Admission{}, err
		}
	}
	a := l.windows.reserve(key, now)
	if !a.OK {
		l.slots.release(key.BusinessID)
		return a, nil
	}
	a.Ticket = Ticket{Key: key, Place: localPlace}
	return a, nil
}

// localPlace names every place a local store gives: it counts places, and needs no
// ids; a ticket for a kept slot has none.
const localPlace = "counted"

func (l *localLimits) Done(_ context.Context, t Ticket, report *RateLimit, now time.Time, keepSlot bool) *Ticket {
	if t.Place != "" {
		l.windows.release(t.Key, report, now)
	}
	if keepSlot {
		return &Ticket{Key: t.Key, Slot: t.Slot}
	}
	l.slots.release(t.Key.BusinessID)
	return nil
}

func (l *localLimits) Snapshot(_ context.Context, key QuotaKey, now time.Time) (RateLimit, bool) {
	return l.windows.snapshot(key, now)
}

// slots hands out the in-flight slots of each business, first come first served.
type slots struct {
	max     int // 0: no bound
	mu      sync.Mutex
	taken   map[int64]int             // slots taken, per business; absent when none
	waiters map[int64][]chan struct{} // requests waiting for a slot
}

func newSlots(max int) *slots {
	return &slots{max: max, taken: make(map[int64]int), waiters: make(map[int64][]chan struct{})}
}

// acquire takes a slot of business, waiting while all are taken; release gives it
// back.
func (l *slots) acquire(ctx context.Context, business int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.max <= 0 {
		return nil
	}
	l.mu.Lock()
	if n := l.taken[business]; n < l.max {
		l.taken[business] = n + 1
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	l.waiters[business] = append(l.waiters[business], ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		ws := l.waiters[business]
		for i, w := range ws {
			if w == ch {
				l.dropWaiter(business, ws, i)
				l.mu.Unlock()
				return ctx.Err()
			}
		}
		l.mu.Unlock()
		// Handed a slot as the context ended: pass it on.
		l.release(business)
		return ctx.Err()
	}
}

func (l *slots) dropWaiter(business int64, ws []chan struct{}, i int) {
	ws = append(ws[:i], ws[i+1:]...)
	if len(ws) == 0 {
		delete(l.waiters, business)
	} else {
		l.waiters[business] = ws
	}
}

func (l *slots) release(business int64) {
	if l.max <= 0 {
		return
	}
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
func (l *slots) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.taken) + len(l.waiters)
}

// windows keeps what the Market reported of each quota's window. A window is kept
// while it lasts (what the Market reported is true until its reset) and while requests
// counted in it are in flight, and freed after.
type windows struct {
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

func (q *windows) reserve(k QuotaKey, now time.Time) Admission {
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
			return Admission{Limit: w.limit, Wake: w.released}
		}
		return Admission{Limit: w.limit, Until: w.until}
	}
	w.reserved++
	return Admission{OK: true, Limit: w.limit}
}

func (q *windows) release(k QuotaKey, rl *RateLimit, now time.Time) {
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

func (q *windows) snapshot(k QuotaKey, now time.Time) (RateLimit, bool) {
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
func (q *windows) sweep(now time.Time) {
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
func (q *windows) held() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.m)
}
