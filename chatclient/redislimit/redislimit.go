// Package redislimit shares the Market's limits of a business between processes
// through Redis: the 4 requests in flight ([chatclient.Leases]) and the hourly quota
// of each operation ([chatclient.Quotas]). A [Limiter] implements both; plug it into
// every client on the same token:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	lim, err := redislimit.New(rdb, redislimit.WithFleetSize(4))
//	...
//	defer lim.Close()
//	client, err := chatclient.New(chatclient.APIKey(key),
//		chatclient.WithLeases(lim), chatclient.WithQuotas(lim))
//
// # Round trips
//
// A Limiter given to both WithLeases and WithQuotas is also a [chatclient.Admitter]:
// the client admits a call with one script that takes the lease and the reservation
// together (Admit) and ends it with one that gives both back and records the answer's
// quota report (Done): two round trips per call, plus one each time a caller that
// waits for a slot asks again, and a renewal every third of the lease TTL for a long
// request. Done returns once Redis has applied it, so what a caller ended is in force
// before it asks again. Through the two seams apart (Acquire, Reserve, Release and the
// lease's release) a call costs four; the client still takes that path for a retry
// that keeps its slot through a parallel-limit backoff. All keys of a business share
// the hash tag {<business>}, so the script runs on Redis Cluster. The script is
// limiter.lua, beside this file.
//
// # Leases
//
// The leases of a business are a sorted set of lease ids scored by their expiry on the
// Redis server's clock. Callers that find every slot held wait in a queue of the
// business in Redis, in order of arrival on the server's clock, whatever their
// process: a freed slot goes to the first waiter, so a process whose requests are
// slow is not starved by one that frees and retakes slots quickly. When a slot is
// freed the script announces whose turn it is on a pub/sub channel (one subscription
// per Limiter, opened at its first wait), and that waiter asks again at once; any
// waiter also asks again after a pause that grows with the callers ahead of it (5 to
// 50 ms), which catches a lease that expired and an announcement missed. A waiter that
// stops asking (its process died) leaves the queue within a second and two op
// timeouts. Admit waits in the queue itself (it never answers Busy). A lease expires
// after the lease TTL (default 2 s), so the slots of a process that dies come back
// within it; a request that runs longer than a third of the TTL renews its lease in
// the background until it is released.
//
// # Quotas
//
// The window of each business and operation is a hash (until, on the Market's clock,
// remaining and limit) that expires at its until plus a slack, beside a sorted set of
// the reservations in flight scored by their expiry (the reservation TTL: a process
// that dies while holding reservations holds them no longer than that). Reserve,
// Release and Snapshot are one round trip each, with chatclient.NewLocalQuotas's rules:
// a newer window replaces the old, for the same window the lowest remaining count
// wins, and Reserve refuses while remaining minus reservations is not positive. So
// every process paces by the same window, and one process's 420 (a report of
// Remaining 0) stops the others until the reset. A caller that waits for a reset asks
// again from 1.2 s before its own estimate of it, and goes as soon as any process of
// the fleet has recorded the new window.
//
// # Deadlines
//
// Every Redis call is bounded by the op timeout (default 200 ms) and by the caller's
// deadline, whichever comes first, and so is every wait: a call whose context ends
// returns its error then, even while Redis hangs. For that the client must honour
// context deadlines, which go-redis does only with ContextTimeoutEnabled (New refuses
// a client it can see lacks it). What a call cut short may have taken in Redis is
// given back in the background; the end of a call (Done, a lease's release) that its
// deadline cuts short is sent again in the background, bounded by the op timeout.
//
// # When Redis is down or slow
//
// When a Redis call fails or times out (a refused connection, a blackout, a restart),
// the Limiter logs one warning and falls back to in-process limits: the call in
// progress and every later one are served locally, without touching Redis, so nothing
// waits on a dead Redis. After the probe interval (default 3 s) one call tries Redis
// again; when it answers the Limiter goes back to Redis (and logs that at Info),
// otherwise it waits another interval. A lease or reservation is given back where it
// was taken: one taken in Redis is released in Redis (if that fails it expires by
// itself), one taken locally is released locally.
//
// Locally a process cannot see the rest of the fleet, so it keeps its share of the
// slots: ceil(max in flight / fleet size), at least 1 ([WithFleetSize]; the fleet
// size defaults to 1, a process alone). The share counts every request of the process
// in flight, those that took their slot in Redis before it failed too, and it holds
// as well for a probe interval and an op timeout after Redis is back, while the other
// processes may still be on their local limits. So a fleet of 4 processes told its
// size keeps 4 requests of a business in flight through an outage, as the Market
// allows, instead of 16; only as Redis fails may a request that another process took
// there still run beside the first local ones (a 420 then costs a retry).
//
// # Configuration errors
//
// A Redis that refuses the Limiter (a wrong or missing password, an ACL user that may
// not run scripts, touch the Limiter's keys or its channel) is not an outage: an ACL
// user needs +@scripting, ~<prefix>* and &<prefix>turns. No fallback would
// ever end. New checks once, with one script call, and returns an error wrapping
// [ErrRefused]; when Redis is unreachable then, New succeeds and the Limiter starts on
// local limits. A refusal later (the password changed) is returned to the caller of
// Admit, Acquire or Reserve, and logged at Error by Release, Snapshot and the ends of
// calls.
package redislimit

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
)

// Defaults of the options.
const (
	DefaultPrefix         = "ymchat:"
	DefaultMaxInFlight    = 4
	DefaultLeaseTTL       = 2 * time.Second
	DefaultReservationTTL = time.Minute
	DefaultOpTimeout      = 200 * time.Millisecond
	DefaultProbeInterval  = 3 * time.Second
	DefaultFleetSize      = 1
)

// windowSlack is how long a window's key outlives its until: the Market's clock and
// the client's estimate of it may differ by a second or so.
const windowSlack = 5 * time.Second

// Option configures a [Limiter].
type Option func(*config) error

type config struct {
	prefix         string
	max            int
	leaseTTL       time.Duration
	reservationTTL time.Duration
	opTimeout      time.Duration
	probe          time.Duration
	fleet          int
	logger         *slog.Logger
}

// WithPrefix sets the prefix of every Redis key. Default: [DefaultPrefix].
func WithPrefix(p string) Option {
	return func(c *config) error { c.prefix = p; return nil }
}

// WithMaxInFlight sets how many requests of one business may be in flight across all
// processes; 0 means no bound. Default: [DefaultMaxInFlight], the Market's limit.
func WithMaxInFlight(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("redislimit: max in flight %d is negative", n)
		}
		c.max = n
		return nil
	}
}

// WithLeaseTTL sets how long a lease lives without renewal: the slots of a process
// that dies come back within it. Held leases are renewed every third of it. Default:
// [DefaultLeaseTTL].
func WithLeaseTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < 3*time.Millisecond {
			return fmt.Errorf("redislimit: lease TTL %v is too short", d)
		}
		c.leaseTTL = d
		return nil
	}
}

// WithReservationTTL sets how long a quota reservation counts when it is not given
// back (its process died). It should exceed the longest request. Default:
// [DefaultReservationTTL].
func WithReservationTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("redislimit: reservation TTL %v is too short", d)
		}
		c.reservationTTL = d
		return nil
	}
}

// WithOpTimeout bounds each Redis call (the caller's deadline may bound it sooner);
// past it the Limiter falls back to in-process limits. Default: [DefaultOpTimeout].
func WithOpTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redislimit: op timeout %v is not positive", d)
		}
		c.opTimeout = d
		return nil
	}
}

// WithProbeInterval sets how long the Limiter serves from in-process limits after a
// Redis failure before it tries Redis again. Default: [DefaultProbeInterval].
func WithProbeInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redislimit: probe interval %v is not positive", d)
		}
		c.probe = d
		return nil
	}
}

// WithFleetSize tells how many processes share the limits. While Redis is away each
// keeps ceil(max in flight / n) requests of a business in flight, at least 1, so that
// the fleet stays near the Market's limit instead of n times it (see "When Redis is
// down or slow" in the package documentation). Default: [DefaultFleetSize].
func WithFleetSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("redislimit: fleet size %d is not positive", n)
		}
		c.fleet = n
		return nil
	}
}

// WithLogger sets where the Limiter reports losing and regaining Redis. Default:
// [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("redislimit: nil logger")
		}
		c.logger = l
		return nil
	}
}

// Limiter shares the in-flight limit and the quotas of each business through Redis.
// It implements [chatclient.Leases], [chatclient.Quotas] and [chatclient.Admitter];
// it is safe for concurrent use. Call Close when done with it.
type Limiter struct {
	rdb redis.UniversalClient
	cfg config

	localQuotas chatclient.Quotas
	slots       *slots // this process's requests in flight (fallback.go)

	idPrefix string
	seq      atomic.Uint64

	mu     sync.Mutex
	leases map[*lease]struct{} // taken in Redis and not yet released
	wakes  map[int64]*wakeup   // per business: see pause
	// waiters are this process's callers waiting in a queue, by id (leases.go).
	waiters map[string]chan struct{}
	sub     *redis.PubSub // the subscription to the script's announcements; nil until a wait
	// resetWakes are closed a little before a spent window's reset (resetWake).
	resetWakes map[wakeKey]chan struct{}
	down       bool
	probing    bool
	nextProbe  time.Time
	capUntil   time.Time // until when the slots stay capped after Redis came back
	closed     bool

	resMu sync.Mutex
	held  map[chatclient.QuotaKey][]string // this process's reservations; "" for a local one

	wg sync.WaitGroup // renewals and clean-ups in progress
}

var (
	_ chatclient.Leases   = (*Limiter)(nil)
	_ chatclient.Quotas   = (*Limiter)(nil)
	_ chatclient.Admitter = (*Limiter)(nil)
)

// New returns a Limiter on rdb. rdb must honour context deadlines (for go-redis's
// clients, ContextTimeoutEnabled: true); New returns an error for a *redis.Client,
// *redis.ClusterClient or *redis.Ring that does not. New asks Redis once, bounded by
// the op timeout, whether the Limiter may run its script and touch its keys: it
// returns an error wrapping [ErrRefused] when Redis refuses (a wrong or missing
// password, an ACL user without the permissions), and a Limiter that starts on local
// limits when Redis does not answer.
func New(rdb redis.UniversalClient, opts ...Option) (*Limiter, error) {
	if rdb == nil {
		return nil, errors.New("redislimit: nil Redis client")
	}
	cfg := config{
		prefix:         DefaultPrefix,
		max:            DefaultMaxInFlight,
		leaseTTL:       DefaultLeaseTTL,
		reservationTTL: DefaultReservationTTL,
		opTimeout:      DefaultOpTimeout,
		probe:          DefaultProbeInterval,
		fleet:          DefaultFleetSize,
		logger:         slog.Default(),
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if !honoursDeadlines(rdb) {
		return nil, errors.New("redislimit: the Redis client must be created with ContextTimeoutEnabled: true, " +
			"or its calls cannot be bounded by the op timeout")
	}
	var b [6]byte
	_, _ = crand.Read(b[:])
	l := &Limiter{
		rdb:         rdb,
		cfg:         cfg,
		localQuotas: chatclient.NewLocalQuotas(),
		slots:       newSlots(max(1, (cfg.max+cfg.fleet-1)/cfg.fleet)),
		idPrefix:    hex.EncodeToString(b[:]) + ":",
		leases:      make(map[*lease]struct{}),
		wakes:       make(map[int64]*wakeup),
		waiters:     make(map[string]chan struct{}),
		resetWakes:  make(map[wakeKey]chan struct{}),
		held:        make(map[chatclient.QuotaKey][]string),
	}
	octx, cancel := l.opContext(context.Background())
	defer cancel()
	_, err := l.run(octx, []string{cfg.prefix + "{0}:check"}, "check", l.turns())
	if err := l.settle(context.Background(), err, false); err != nil && !errors.Is(err, errFallback) {
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

// Close stops the renewal of the leases still held, wakes the callers waiting for a
// slot (they ask Redis again) and waits for the Limiter's background work to end: the
// ends of calls still on their way, bounded by the op timeout. Leases of calls still
// running are not released: they expire within the lease TTL. Close does not close
// rdb.
func (l *Limiter) Close() error {
	l.mu.Lock()
	l.closed = true
	for le := range l.leases {
		le.stopRenewal()
	}
	for b := range l.wakes {
		l.kickLocked(b)
	}
	sub := l.sub
	l.mu.Unlock()
	if sub != nil {
		_ = sub.Close() // ends listen's goroutine
	}
	l.wg.Wait()
	return nil
}

// Degraded reports whether the Limiter is serving from in-process limits because Redis
// failed.
func (l *Limiter) Degraded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down
}

func (l *Limiter) newID() string {
	return l.idPrefix + strconv.FormatUint(l.seq.Add(1), 36)
}

// opContext bounds one Redis call by the op timeout and by ctx.
func (l *Limiter) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.cfg.opTimeout)
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

// wakeup is what callers refused by a quota wait on before they ask again (pause).
type wakeup struct {
	ch    chan struct{} // closed at a release in this process, or by timer
	timer *time.Timer   // the short pause, when armed
}

func (l *Limiter) wakeLocked(business int64) *wakeup {
	w := l.wakes[business]
	if w == nil {
		w = &wakeup{ch: make(chan struct{})}
		l.wakes[business] = w
	}
	return w
}

// kick wakes whoever waits on business's pause.
func (l *Limiter) kick(business int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kickLocked(business)
}

func (l *Limiter) kickLocked(business int64) {
	if w := l.wakes[business]; w != nil {
		if w.timer != nil {
			w.timer.Stop()
		}
		close(w.ch)
		delete(l.wakes, business)
	}
}
