package chatclient

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Header names of the Market's quota report, in Go's canonical form so that reading
// them is a plain map lookup.
const (
	headerLimit     = "X-Ratelimit-Resource-Limit"
	headerRemaining = "X-Ratelimit-Resource-Remaining"
	headerUntil     = "X-Ratelimit-Resource-Until"
)

func header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseRateLimit reads the quota headers; a missing or malformed header leaves its
// field unknown (-1, or the zero time).
func parseRateLimit(h http.Header) RateLimit {
	rl := RateLimit{Limit: -1, Remaining: -1}
	if v, err := strconv.ParseInt(header(h, headerLimit), 10, 64); err == nil && v >= 0 {
		rl.Limit = v
	}
	if v, err := strconv.ParseInt(header(h, headerRemaining), 10, 64); err == nil && v >= 0 {
		rl.Remaining = v
	}
	rl.Until = parseUntil(header(h, headerUntil))
	return rl
}

// untilLayouts are the date forms the Until header is read in: RFC 1123 (the RFC 822
// form with a four-digit year the Market sends), RFC 822 itself, and the numeric-zone
// variants.
var untilLayouts = []string{time.RFC1123, time.RFC1123Z, time.RFC822, time.RFC822Z, time.RFC850}

// lastUntil remembers the last Until parsed: every answer of a quota window carries the
// same one.
var lastUntil atomic.Pointer[parsedUntil]

type parsedUntil struct {
	raw string
	t   time.Time
}

func parseUntil(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	if p := lastUntil.Load(); p != nil && p.raw == v {
		return p.t
	}
	for _, layout := range untilLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			lastUntil.Store(&parsedUntil{raw: v, t: t.UTC()})
			return t.UTC()
		}
	}
	return time.Time{}
}

// inflight bounds the requests in flight per business.
type inflight struct {
	max int // 0: no bound
	mu  sync.Mutex
	sem map[int64]chan struct{}
}

// acquire waits for a slot of business, or for ctx to end. The returned func frees it.
func (l *inflight) acquire(ctx context.Context, business int64) (func(), error) {
	if l.max <= 0 {
		return func() {}, nil
	}
	l.mu.Lock()
	sem, ok := l.sem[business]
	if !ok {
		if l.sem == nil {
			l.sem = make(map[int64]chan struct{})
		}
		sem = make(chan struct{}, l.max)
		l.sem[business] = sem
	}
	l.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// quotaKey names one quota: an operation of a business.
type quotaKey struct {
	business int64
	op       string
}

// quotaState is what the client knows of one quota's current window.
type quotaState struct {
	limit     int64
	remaining int64         // as last reported for the window ending at until; -1 unknown
	until     time.Time     // zero: nothing known
	reserved  int64         // requests sent whose answers are not in yet
	released  chan struct{} // closed when a reservation is given back; nil if nobody waits
}

// quotas paces each operation by what the Market reported of its quota, so that a
// well-behaved caller does not send requests the Market would answer with 420.
type quotas struct {
	mu sync.Mutex
	m  map[quotaKey]*quotaState
}

// reserve claims one request of the quota at now. When it cannot, it claims nothing
// and says what to wait for: with released non-nil, the quota has room that requests
// in flight hold, so wait until one of them is answered; otherwise the quota is spent
// until st.until.
func (q *quotas) reserve(k quotaKey, now time.Time) (ok bool, st quotaState, released <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.m[k]
	if s == nil {
		if q.m == nil {
			q.m = make(map[quotaKey]*quotaState)
		}
		s = &quotaState{limit: -1, remaining: -1}
		q.m[k] = s
	}
	if !s.until.IsZero() && !now.Before(s.until) {
		// The window is over: nothing is known of the next one until an answer says.
		// Requests still in flight stay counted: the Market may count them in the new
		// window.
		s.remaining, s.until = -1, time.Time{}
	}
	if s.remaining >= 0 && s.remaining-s.reserved <= 0 {
		if s.remaining > 0 {
			if s.released == nil {
				s.released = make(chan struct{})
			}
			return false, *s, s.released
		}
		return false, *s, nil
	}
	s.reserved++
	return true, *s, nil
}

// release gives back a reservation and records what the answer (if any) reported.
func (q *quotas) release(k quotaKey, rl *RateLimit, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.m[k]
	if s == nil {
		return
	}
	if s.reserved > 0 {
		s.reserved--
	}
	if s.released != nil {
		close(s.released)
		s.released = nil
	}
	if rl == nil || rl.Remaining < 0 || rl.Until.IsZero() || !rl.Until.After(now) {
		return
	}
	switch {
	case rl.Until.After(s.until):
		// A newer window.
		s.until, s.remaining = rl.Until, rl.Remaining
	case rl.Until.Equal(s.until) && (s.remaining < 0 || rl.Remaining < s.remaining):
		// Answers arrive out of order: the lowest count is the latest.
		s.remaining = rl.Remaining
	}
	if rl.Limit >= 0 {
		s.limit = rl.Limit
	}
}
