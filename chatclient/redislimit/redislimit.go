// Package redislimit shares the Market's limits of a business between processes
// through Redis: the 4 requests in flight ([chatclient.Leases]) and the hourly quota
// of each operation ([chatclient.Quotas]). A [Limiter] implements both; plug it into
// every client on the same token:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	lim, err := redislimit.New(rdb)
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
// quota report (Done): two scripts per call (plus a renewal every third of the lease
// TTL for a long request). Done does not wait for Redis (except when it keeps the slot
// for a retry, or after Close): the end of a call is held back in the process for at
// most half a millisecond, and goes in the same round trip as the next Admit of that
// business, ahead of it (a pipeline), or, when no Admit of the business comes, on its
// own with every other end that waits. So a client that calls the same business again
// at once pays one round trip per call. What a process ended is always applied before
// what it asks next of the business (an Admit, Acquire, Reserve or Snapshot sends the
// ends before it, or waits for those on their way); other processes see it once it is
// sent: within the half millisecond and a round trip (if that send fails, the lease
// and the reservation expire by themselves). Close sends what is held back; Flush
// sends it at once. Through the two seams apart (Acquire, Reserve,
// Release and the lease's release) a call costs four; the client still takes that
// path for a retry that keeps its slot through a parallel-limit backoff (Done then
// gives back the reservation only; Reserve and Release serve the next attempt, and
// the slot is released by one ZREM). All keys of a business share the hash tag
// {<business>}, so the scripts run on Redis Cluster.
//
// # Leases
//
// The leases of a business are a sorted set of lease ids scored by their expiry on the
// Redis server's clock. Acquire is one script (one round trip) that drops the expired
// leases and adds ours when fewer than the maximum are held; when all are held it
// polls again after a short jittered pause (5 to 50 ms, sooner when a lease of this
// process is released). Admit does not wait: it answers Busy, with a channel closed
// after a pause of 5 to 25 ms or at a release in this process, and the client asks
// again. A lease expires after the lease TTL, so the slots of a process
// that dies come back within the TTL; a request that runs longer than a third of the
// TTL renews its lease in the background until it is released. Releasing is one ZREM.
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
// Remaining 0) stops the others until the reset.
//
// # When Redis is down or slow
//
// Every Redis call is bounded by the op timeout (default 200 ms); an Admit, Acquire,
// Reserve or Snapshot may first wait, at most as long again, for this process's
// earlier ends of the business still on their way. For that the client must honour
// context deadlines, which go-redis does only with ContextTimeoutEnabled
// (New refuses a client it can see lacks it). When a call fails or times out, the
// Limiter logs one warning and falls back to in-process limits
// ([chatclient.NewLocalLeases] with the same maximum, [chatclient.NewLocalQuotas]):
// the call in progress and every later one are served locally, without touching
// Redis, so nothing waits on a dead Redis. After the probe interval (default 3 s) one
// call tries Redis again; when it answers the Limiter goes back to Redis (and logs
// that at Info), otherwise it waits another interval. A lease or reservation is given
// back where it was taken: one taken in Redis is released in Redis (if that fails it
// expires by itself), one taken locally is released locally. While it runs on local
// limits each process keeps its own 4 in flight and its own view of the quotas, so a
// fleet of N processes may send up to 4N requests at once until Redis is back: a 420
// then costs a retry, not a failure.
package redislimit

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	DefaultLeaseTTL       = 10 * time.Second
	DefaultReservationTTL = time.Minute
	DefaultOpTimeout      = 200 * time.Millisecond
	DefaultProbeInterval  = 3 * time.Second
)

// windowSlack is how long a window's key outlives its until: the Market's clock and
// the client's estimate of it may differ by a second or so.
const windowSlack = 5 * time.Second

// Polling bounds while all leases of a business are held.
const (
	minPoll = 5 * time.Millisecond
	maxPoll = 50 * time.Millisecond
	// admitPoll bounds the pause after which a caller of Admit that found every slot
	// held asks again (Admit keeps no state between calls to back off with).
	admitPoll = 25 * time.Millisecond
)

// Option configures a [Limiter].
type Option func(*config) error

type config struct {
	prefix         string
	max            int
	leaseTTL       time.Duration
	reservationTTL time.Duration
	opTimeout      time.Duration
	probe          time.Duration
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

// WithOpTimeout bounds each Redis call; past it the Limiter falls back to in-process
// limits. Default: [DefaultOpTimeout].
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
// It implements [chatclient.Leases] and [chatclient.Quotas]; it is safe for concurrent
// use. Call Close when done with it.
type Limiter struct {
	rdb redis.UniversalClient
	cfg config

	localLeases chatclient.Leases
	localQuotas chatclient.Quotas

	idPrefix string
	seq      atomic.Uint64

	mu     sync.Mutex
	leases map[*lease]struct{} // taken in Redis and not yet released
	wake   chan struct{}       // closed when a lease of this process is released, or by poll
	poll   *time.Timer         // closes wake after a short pause while Admit finds slots held
	// resetWakes are closed a little before a spent window's reset (resetWake).
	resetWakes map[wakeKey]chan struct{}
	down       bool
	nextProbe  time.Time
	probing    bool
	closed     bool

	resMu sync.Mutex
	held  map[chatclient.QuotaKey][]string // this process's reservations; "" for a local one

	qmu          sync.Mutex
	pending      map[int64]*pending // ends of calls waiting for Redis, by business (deferred.go)
	flushTimer   *time.Timer        // sends them after releaseDelay
	releaseDelay time.Duration      // the constant; tests set it
	qclosed      bool
	// scriptsLoaded is set once the scripts a pipeline runs are known to be in Redis.
	scriptsLoaded atomic.Bool

	wg sync.WaitGroup // renewals and clean-ups in progress
}

var (
	_ chatclient.Leases   = (*Limiter)(nil)
	_ chatclient.Quotas   = (*Limiter)(nil)
	_ chatclient.Admitter = (*Limiter)(nil)
)

// New returns a Limiter on rdb. rdb must honour context deadlines (for go-redis's
// clients, ContextTimeoutEnabled: true); New returns an error for a *redis.Client,
// *redis.ClusterClient or *redis.Ring that does not. New makes no Redis call.
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
	return &Limiter{
		rdb:         rdb,
		cfg:         cfg,
		localLeases: chatclient.NewLocalLeases(cfg.max),
		localQuotas: chatclient.NewLocalQuotas(),
		idPrefix:    hex.EncodeToString(b[:]) + ":",
		leases:      make(map[*lease]struct{}),
		wake:        make(chan struct{}),
		resetWakes:  make(map[wakeKey]chan struct{}),
		held:        make(map[chatclient.QuotaKey][]string),
		pending:     make(map[int64]*pending),

		releaseDelay: releaseDelay,
	}, nil
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

// Close sends the ends of calls this process still holds back (see Flush), stops the
// renewal of the leases still held and waits for the Limiter's background work to end.
// Leases of calls still running are not released: they expire within the lease TTL.
// Close does not close rdb.
func (l *Limiter) Close() error {
	l.closeQueue()
	l.mu.Lock()
	l.closed = true
	for le := range l.leases {
		le.stopRenewal()
	}
	if l.poll != nil {
		l.poll.Stop()
		l.poll = nil
	}
	// Callers waiting to ask Admit again ask now.
	close(l.wake)
	l.wake = make(chan struct{})
	l.mu.Unlock()
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

// opContext bounds one Redis call. It does not end with the caller's context: a call
// cut short by the caller would leave it unknown whether Redis acted.
func (l *Limiter) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), l.cfg.opTimeout)
}

// useRedis reports whether the next call goes to Redis; probe is true when it is the
// one call that tries Redis again after a failure.
func (l *Limiter) useRedis() (use, probe bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.down {
		return true, false
	}
	if l.probing || time.Now().Before(l.nextProbe) {
		return false, false
	}
	l.probing = true
	return true, true
}

// result records the outcome of a Redis call: one warning when Redis is lost, one
// Info line when it is back.
func (l *Limiter) result(err error, probe bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if probe {
		l.probing = false
	}
	if err == nil {
		if l.down {
			l.down = false
			l.cfg.logger.Info("redislimit: Redis answers again; sharing limits through it")
		}
		return
	}
	l.nextProbe = time.Now().Add(l.cfg.probe)
	if !l.down {
		l.down = true
		l.cfg.logger.Warn("redislimit: Redis failed; using in-process limits until it answers again",
			"error", err.Error(), "retry_in", l.cfg.probe)
	}
}

// background runs f tracked by Close, unless the Limiter is closed.
func (l *Limiter) background(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

func (l *Limiter) leaseKey(business int64) string {
	return l.cfg.prefix + "{" + strconv.FormatInt(business, 10) + "}:leases"
}

// Acquire waits until an in-flight slot of businessID is free across all processes
// and takes it, or returns ctx's error. It implements [chatclient.Leases].
func (l *Limiter) Acquire(ctx context.Context, businessID int64) (func(), error) {
	if l.cfg.max == 0 {
		return func() {}, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := l.leaseKey(businessID)
	delay := minPoll
	for {
		use, probe := l.useRedis()
		if !use {
			return l.localLeases.Acquire(ctx, businessID)
		}
		l.flushBusiness(ctx, businessID)
		l.mu.Lock()
		wake := l.wake
		l.mu.Unlock()
		id := l.newID()
		octx, cancel := l.opContext(ctx)
		got, err := acquireScript.Run(octx, l.rdb, []string{key}, id, l.cfg.max, l.cfg.leaseTTL.Milliseconds()).Int()
		cancel()
		l.result(err, probe)
		if err != nil {
			// Redis may have added the lease before the call failed: take it back when
			// it can, or it expires within the TTL.
			l.background(func() { l.zrem(ctx, key, id) })
			return l.localLeases.Acquire(ctx, businessID)
		}
		if got == 1 {
			le := l.newLease(ctx, key, id)
			if err := ctx.Err(); err != nil {
				le.release()
				return nil, err
			}
			return le.release, nil
		}
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-wake:
			t.Stop()
		case <-t.C:
		}
		delay = min(2*delay, maxPoll)
	}
}

func (l *Limiter) zrem(ctx context.Context, key, id string) error {
	octx, cancel := l.opContext(ctx)
	defer cancel()
	return l.rdb.ZRem(octx, key, id).Err()
}

// lease is one slot taken in Redis.
type lease struct {
	l       *Limiter
	ctx     context.Context // for values only (tracing); never cancels
	key, id string
	once    sync.Once

	mu    sync.Mutex
	timer *time.Timer // the next renewal; nil when none is due
}

func (l *Limiter) newLease(ctx context.Context, key, id string) *lease {
	le := &lease{l: l, ctx: context.WithoutCancel(ctx), key: key, id: id}
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
	octx, cancel := le.l.opContext(le.ctx)
	ok, err := renewScript.Run(octx, le.l.rdb, []string{le.key}, le.id, le.l.cfg.leaseTTL.Milliseconds()).Int()
	cancel()
	switch {
	case err != nil:
		le.l.cfg.logger.Debug("redislimit: lease renewal failed", "key", le.key, "error", err.Error())
	case ok == 0:
		le.l.cfg.logger.Warn("redislimit: a lease expired before it was renewed; the request runs on", "key", le.key)
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

// release gives the slot back in Redis, where it was taken.
func (le *lease) release() {
	le.end(func() error { return le.l.zrem(le.ctx, le.key, le.id) })
}

// end stops the lease's renewal, runs give (the Redis call that gives the slot back),
// and wakes the waiters of this process; once.
func (le *lease) end(give func() error) {
	if !le.detach() {
		return
	}
	if err := give(); err != nil {
		le.l.cfg.logger.Debug("redislimit: lease release failed; it expires by itself", "key", le.key, "error", err.Error())
	}
	le.l.kick()
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

// kick wakes whoever waits on l.wake.
func (l *Limiter) kick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.wake)
	l.wake = make(chan struct{})
}

// Admit takes an in-flight slot of key.BusinessID and reserves one request of key's
// quota at now, the Market's time, both or neither, in one round trip. It implements
// [chatclient.Admitter]; the client uses it, and Done, instead of Acquire, Reserve,
// Release and the lease's release when the Limiter is both its Leases and its
// Quotas. When every slot is held, Busy is set and Released is closed at the next
// release of a lease of this process or after a short jittered pause, whichever comes
// first. When the quota is spent and resets within two minutes, Released is closed
// 1.2 s before the reset as this process estimates it, then after short pauses: the
// caller asks again, and is admitted as soon as any process has recorded the new
// window (the estimate may lag the Market's clock by up to about a second). It
// returns an error only for ctx's; a Redis failure falls back to in-process
// limits, as Acquire and Reserve do (a local Acquire waits for a slot).
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
	use, probe := l.useRedis()
	if !use {
		return l.admitLocal(ctx, key, now)
	}
	keys := append(l.quotaKeys(key), l.leaseKey(key.BusinessID))
	id := l.newID()
	// The ends of this business's calls held back go first, in the same round trip:
	// what this process ended before is applied before it asks again.
	ops, ahead, mine := l.take(key.BusinessID)
	await(ahead, l.cfg.opTimeout)
	call := &scriptCall{script: admitScript, keys: keys, args: []any{now.UnixMilli(), id, l.cfg.reservationTTL.Milliseconds(),
		l.cfg.max, l.cfg.leaseTTL.Milliseconds()},
		undo: func(ctx context.Context, answer *redis.Cmd) {
			if v, err := answer.Int64Slice(); err == nil && len(v) == 3 && v[0] == 1 {
				_ = l.runDone(ctx, keys, id, nil, now, id)
			}
		}}
	octx, cancel := l.opContext(ctx)
	errs := l.pipeline(octx, ops, call)
	cancel()
	l.landed(key.BusinessID, mine)
	l.noteDones(ops, errs)
	v, err := call.cmd.Int64Slice()
	if err == nil && len(v) != 3 {
		err = fmt.Errorf("redislimit: admit script answered %v", v)
	}
	l.result(err, probe)
	if err != nil {
		// Redis may have taken the lease and the reservation before the call failed:
		// give them back when it can, or they expire by themselves.
		l.background(func() { _ = l.runDone(ctx, keys, id, nil, now, id) })
		return l.admitLocal(ctx, key, now)
	}
	switch v[0] {
	case 1:
	case 2:
		return chatclient.Admission{Busy: true, Reservation: chatclient.Reservation{Limit: -1, Released: l.pollWake()}}, nil
	default:
		r := chatclient.Reservation{Limit: v[1]}
		if v[2] != 0 {
			r.Until = time.UnixMilli(v[2])
			r.Released = l.resetWake(key, r.Until, r.Until.Sub(now))
		} else {
			// Reservations in flight hold what is left: ask again when one is back.
			r.Released = l.pollWake()
		}
		return chatclient.Admission{Reservation: r}, nil
	}
	le := l.newLease(ctx, keys[2], id)
	var done sync.Once
	a := chatclient.Admission{Reservation: chatclient.Reservation{OK: true, Limit: v[1]}}
	a.Done = func(ctx context.Context, report *chatclient.RateLimit, now time.Time, keepSlot bool) (releaseSlot func()) {
		done.Do(func() {
			if keepSlot {
				// The reservation only; the lease, and its renewal, go on until releaseSlot.
				l.sendDones(ctx, 0, nil, []*doneOp{l.doneOp(ctx, key, keys, id, report, now, "")})
				releaseSlot = le.release
				return
			}
			// The slot and the reservation go back with this process's next Admit of
			// the business, or after releaseDelay (see deferred.go).
			if le.detach() {
				l.hold(l.doneOp(ctx, key, keys, id, report, now, id))
			}
		})
		return releaseSlot
	}
	if err := ctx.Err(); err != nil {
		a.Done(ctx, nil, now, false)
		return chatclient.Admission{}, err
	}
	return a, nil
}

// doneOp is doneScript's call that gives back the reservation id of the quota at
// keys[0:2] recording report, and the lease leaseID at keys[2] unless leaseID is "".
func (l *Limiter) doneOp(ctx context.Context, key chatclient.QuotaKey, keys []string, id string, report *chatclient.RateLimit, now time.Time, leaseID string) *doneOp {
	op := &doneOp{ctx: context.WithoutCancel(ctx), key: key, now: now, keys: keys,
		args: []any{id, now.UnixMilli(), "0", -1, -1, 0, windowSlack.Milliseconds(), leaseID}}
	if report != nil {
		r := *report
		op.report = &r
		op.args[2], op.args[3], op.args[4], op.args[5] = "1", r.Limit, r.Remaining, r.Until.UnixMilli()
	}
	return op
}

// runDone runs doneOp's call now.
func (l *Limiter) runDone(ctx context.Context, keys []string, id string, report *chatclient.RateLimit, now time.Time, leaseID string) error {
	op := l.doneOp(ctx, chatclient.QuotaKey{}, keys, id, report, now, leaseID)
	octx, cancel := l.opContext(ctx)
	defer cancel()
	err := doneScript.Run(octx, l.rdb, keys, op.args...).Err()
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return err
}

// admitLocal admits on the in-process limits: it waits for a local slot, then
// reserves in the local quotas.
func (l *Limiter) admitLocal(ctx context.Context, key chatclient.QuotaKey, now time.Time) (chatclient.Admission, error) {
	release, err := l.localLeases.Acquire(ctx, key.BusinessID)
	if err != nil {
		return chatclient.Admission{}, err
	}
	r, err := l.localQuotas.Reserve(ctx, key, now)
	if err != nil || !r.OK {
		release()
		return chatclient.Admission{Reservation: r}, err
	}
	var done sync.Once
	a := chatclient.Admission{Reservation: r}
	a.Done = func(ctx context.Context, report *chatclient.RateLimit, now time.Time, keepSlot bool) (releaseSlot func()) {
		done.Do(func() {
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

// pollWake returns a channel closed at the next release of a lease of this process,
// or after a short jittered pause, whichever comes first (nil once the Limiter is
// closed: the client then pauses by itself). Admit hands it to a caller that found
// every slot held, which then asks again.
func (l *Limiter) pollWake() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if l.poll == nil {
		l.poll = time.AfterFunc(minPoll+rand.N(admitPoll-minPoll+1), func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.poll = nil
			close(l.wake)
			l.wake = make(chan struct{})
		})
	}
	return l.wake
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
// reset that is the shared short poll (pollWake: 5 to 25 ms, or a release in this
// process); before, one channel per reset, shared by every caller of this process
// that waits for it, closed resetLead before it.
func (l *Limiter) resetWake(key chatclient.QuotaKey, until time.Time, d time.Duration) <-chan struct{} {
	if d > maxResetWake {
		return nil
	}
	if d <= resetLead {
		return l.pollWake()
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

// quotaKeys names key's window and reservations. They carry the business's hash tag,
// as its leases do, so that one script may touch the leases and a quota (Redis
// Cluster runs a script only on keys of one hash slot).
func (l *Limiter) quotaKeys(k chatclient.QuotaKey) []string {
	base := l.cfg.prefix + "{" + strconv.FormatInt(k.BusinessID, 10) + "}:" + string(k.Operation) + ":"
	return []string{base + "window", base + "reserved"}
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

// Reserve claims one request of key's quota at now, the Market's time. It implements
// [chatclient.Quotas]; it never returns an error (a Redis failure falls back to
// in-process quotas). A refusal while reservations in flight hold the rest has a nil
// Released: the client asks again after a short pause.
func (l *Limiter) Reserve(ctx context.Context, key chatclient.QuotaKey, now time.Time) (chatclient.Reservation, error) {
	use, probe := l.useRedis()
	if use {
		l.flushBusiness(ctx, key.BusinessID)
		id := l.newID()
		octx, cancel := l.opContext(ctx)
		v, err := reserveScript.Run(octx, l.rdb, l.quotaKeys(key), now.UnixMilli(), id, l.cfg.reservationTTL.Milliseconds()).Int64Slice()
		cancel()
		if err == nil && len(v) != 3 {
			err = fmt.Errorf("redislimit: reserve script answered %v", v)
		}
		l.result(err, probe)
		if err == nil {
			r := chatclient.Reservation{OK: v[0] == 1, Limit: v[1]}
			if r.OK {
				l.pushHeld(key, id)
			} else if v[2] != 0 {
				r.Until = time.UnixMilli(v[2])
				r.Released = l.resetWake(key, r.Until, r.Until.Sub(now))
			}
			return r, nil
		}
		// Redis may have counted the reservation: it expires with the reservation TTL.
	}
	r, err := l.localQuotas.Reserve(ctx, key, now)
	if err == nil && r.OK {
		l.pushHeld(key, "")
	}
	return r, err
}

// Release gives back a reservation of key's quota and records report, what the answer
// said of the quota (nil when there was none). It implements [chatclient.Quotas].
func (l *Limiter) Release(ctx context.Context, key chatclient.QuotaKey, report *chatclient.RateLimit, now time.Time) {
	id, ok := l.popHeld(key)
	if ok && id == "" {
		l.localQuotas.Release(ctx, key, report, now)
		return
	}
	if report == nil && !ok {
		return
	}
	use, probe := true, false
	if !ok { // a report only: it goes where the Limiter is
		use, probe = l.useRedis()
	}
	if use {
		args := []any{id, now.UnixMilli(), "0", -1, -1, 0, windowSlack.Milliseconds()}
		if report != nil {
			args[2], args[3], args[4], args[5] = "1", report.Limit, report.Remaining, report.Until.UnixMilli()
		}
		octx, cancel := l.opContext(ctx)
		err := releaseScript.Run(octx, l.rdb, l.quotaKeys(key), args...).Err()
		cancel()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		l.result(err, probe)
		if err == nil {
			return
		}
	}
	// Keep the report where the next reservations will look.
	l.localQuotas.Release(ctx, key, report, now)
}

// Snapshot returns what is known of key's current window at now, the Market's time.
// It implements [chatclient.Quotas].
func (l *Limiter) Snapshot(ctx context.Context, key chatclient.QuotaKey, now time.Time) (chatclient.RateLimit, bool) {
	use, probe := l.useRedis()
	if use {
		l.flushBusiness(ctx, key.BusinessID)
		octx, cancel := l.opContext(ctx)
		v, err := l.rdb.HMGet(octx, l.quotaKeys(key)[0], "until", "remaining", "limit").Result()
		cancel()
		l.result(err, probe)
		if err == nil {
			untl, rem, lim := field(v[0]), field(v[1]), field(v[2])
			if untl <= 0 || rem < 0 || !time.UnixMilli(untl).After(now) {
				return chatclient.RateLimit{Limit: -1, Remaining: -1}, false
			}
			return chatclient.RateLimit{Limit: lim, Remaining: rem, Until: time.UnixMilli(untl)}, true
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
