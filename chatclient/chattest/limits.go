package chattest

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Quota is an hourly-style request quota of one operation.
type Quota struct {
	// Limit is how many requests one window allows.
	Limit int64
	// Window is how long a window lasts; windows start at whole multiples of it
	// (for an hour, at the top of the hour). Use whole seconds: the Until header has
	// second precision.
	Window time.Duration
}

// DocumentedQuotas returns the Market's hourly quotas, by operation, which a Server
// enforces by default. Each call returns a map of its own.
func DocumentedQuotas() map[string]Quota { return maps.Clone(documentedQuotas) }

var documentedQuotas = map[string]Quota{
	"createChat":        {Limit: 1000, Window: time.Hour},
	"getChat":           {Limit: 1000, Window: time.Hour},
	"getChats":          {Limit: 10000, Window: time.Hour},
	"getChatHistory":    {Limit: 10000, Window: time.Hour},
	"getChatMessage":    {Limit: 1000, Window: time.Hour},
	"sendMessageToChat": {Limit: 1000, Window: time.Hour},
	"sendFileToChat":    {Limit: 1000, Window: time.Hour},
}

type counterKey struct {
	business int64
	op       string
}

type counter struct {
	end  time.Time
	used int64
}

// limiter enforces the parallel-request limit per business and the quotas per
// business and operation, as the Market does.
type limiter struct {
	mu       sync.Mutex
	parallel int // 0: no limit
	inflight map[int64]int
	quotas   map[string]Quota
	counters map[counterKey]*counter
}

// enter claims a parallel slot of the business; false when all are taken.
func (l *limiter) enter(business int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.parallel > 0 && l.inflight[business] >= l.parallel {
		return false
	}
	l.inflight[business]++
	return true
}

func (l *limiter) leave(business int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight[business]--
}

// rateState is what the X-RateLimit-Resource-* headers report.
type rateState struct {
	limit, remaining int64
	until            time.Time
}

func (r rateState) set(h http.Header) {
	h.Set("X-RateLimit-Resource-Limit", strconv.FormatInt(r.limit, 10))
	h.Set("X-RateLimit-Resource-Remaining", strconv.FormatInt(r.remaining, 10))
	h.Set("X-RateLimit-Resource-Until", r.until.UTC().Format(http.TimeFormat))
}

// take counts one request against the quota at now; false when the quota is spent.
func (l *limiter) take(business int64, op string, now time.Time) (rateState, bool, bool) {
	return l.count(business, op, now, true)
}

// peek reports the quota without counting a request.
func (l *limiter) peek(business int64, op string, now time.Time) (rateState, bool) {
	st, _, known := l.count(business, op, now, false)
	return st, known
}

func (l *limiter) count(business int64, op string, now time.Time, take bool) (st rateState, ok, known bool) {
	q, known := l.quotas[op]
	if !known || q.Window <= 0 {
		return rateState{}, true, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := counterKey{business, op}
	c := l.counters[k]
	if c == nil || !now.Before(c.end) {
		start := now.Truncate(q.Window)
		c = &counter{end: start.Add(q.Window)}
		l.counters[k] = c
	}
	ok = c.used < q.Limit
	if take && ok {
		c.used++
	}
	// Until has second precision: round up, so a client never wakes before the reset.
	until := c.end
	if t := until.Truncate(time.Second); !t.Equal(until) {
		until = t.Add(time.Second)
	}
	return rateState{limit: q.Limit, remaining: q.Limit - c.used, until: until}, ok, true
}
