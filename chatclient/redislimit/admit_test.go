package redislimit_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// zcard counts a zset's members, failing t on an error.
func zcard(t *testing.T, rdb *redis.Client, key string) int64 {
	t.Helper()
	n, err := rdb.ZCard(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// heldInRedis counts what Redis holds for business 100 under t's prefix: its leases,
// its waiters and the reservations of its getChat quota.
func heldInRedis(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	p := prefix(t) + "{100}:"
	return zcard(t, rdb, p+"leases") + zcard(t, rdb, p+"queue") + zcard(t, rdb, p+"seen") + zcard(t, rdb, p+"getChat:reserved")
}

// admit calls Admit, failing t on an error or a Busy answer (Admit waits for a slot).
func admit(t *testing.T, ctx context.Context, l *redislimit.Limiter, key chatclient.QuotaKey, now time.Time) chatclient.Admission {
	t.Helper()
	a, err := l.Admit(ctx, key, now)
	if err != nil || a.Busy {
		t.Fatalf("admit: %+v %v", a, err)
	}
	return a
}

// Several processes admitting on one Redis never hold more than 4 slots of a business
// at once, do reach 4, wait beyond, and leave nothing behind.
func TestAdmitSharedAcrossProcesses(t *testing.T) {
	noLeaks(t)
	const procs, workers, rounds = 3, 6, 15
	rdb := client(t)
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	now := time.Now()
	report := &chatclient.RateLimit{Limit: 1 << 20, Remaining: 1 << 19, Until: now.Add(time.Hour)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range procs {
		l := limiter(t, client(t))
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					a, err := l.Admit(ctx, getChat, now)
					if err != nil || !a.OK {
						t.Errorf("admit: %+v %v", a, err)
						return
					}
					n := inFlight.Add(1)
					for {
						old := peak.Load()
						if n <= old || peak.CompareAndSwap(old, n) {
							break
						}
					}
					time.Sleep(time.Millisecond) // the request
					inFlight.Add(-1)
					if f := a.Done(ctx, report, now, false); f != nil {
						t.Error("Done without keepSlot returned a release")
					}
				}
			}()
		}
	}
	wg.Wait()
	if p := peak.Load(); p != 4 {
		t.Fatalf("peak in flight %d, want 4", p)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d leases, reservations and waiters left in Redis", n)
	}
}

// With every slot held Admit takes nothing and waits: until ctx ends (leaving nothing
// behind), or until a slot is released, in this process or another.
func TestAdmitWaitsForASlot(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx := context.Background()
	now := time.Now()
	var dones []func(context.Context, *chatclient.RateLimit, time.Time, bool) func()
	for i := range 4 {
		l := a
		if i%2 == 1 {
			l = b
		}
		dones = append(dones, admit(t, ctx, l, getChat, now).Done)
	}
	for _, l := range []*redislimit.Limiter{a, b} {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		ad, err := l.Admit(short, getChat, now)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || ad.OK {
			t.Fatalf("fifth admit: %+v %v, want DeadlineExceeded", ad, err)
		}
	}
	eventually(t, 5*time.Second, "the callers that gave up to leave the queue", func() bool {
		return zcard(t, rdb, prefix(t)+"{100}:queue") == 0
	})
	if n := zcard(t, rdb, prefix(t)+"{100}:getChat:reserved"); n != 4 {
		t.Fatalf("%d reservations, want 4: a waiting Admit took one", n)
	}
	// Another business is not held back.
	other := chatclient.QuotaKey{BusinessID: 200, Operation: chatclient.OpGetChat}
	admit(t, ctx, b, other, now).Done(ctx, nil, now, false)

	// A slot released in another process goes to the waiter.
	got := make(chan chatclient.Admission, 1)
	go func() {
		ad, err := a.Admit(ctx, getChat, now)
		if err != nil {
			t.Error(err)
		}
		got <- ad
	}()
	eventually(t, 5*time.Second, "the fifth caller to wait in the queue", func() bool {
		return zcard(t, rdb, prefix(t)+"{100}:queue") == 1
	})
	dones[1](ctx, nil, now, false) // b's
	var ad chatclient.Admission
	select {
	case ad = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the slot released by another process")
	}
	if !ad.OK {
		t.Fatalf("admit after a release: %+v", ad)
	}
	dones[1] = ad.Done
	for _, d := range dones {
		d(ctx, nil, now, false)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d leases, reservations and waiters left", n)
	}
}

// A report of a spent quota (a 420: Remaining 0) given to Done makes every other
// process's Admit refuse until Until, taking no lease and no reservation; at the reset
// Admit lets it through again.
func TestAdmitRefusedSpentQuotaTakesNothing(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(10 * time.Second)
	ad := admit(t, ctx, a, getChat, now)
	if !ad.OK {
		t.Fatalf("first admit: %+v", ad)
	}
	ad.Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: 0, Until: until}, now, false)
	for _, l := range []*redislimit.Limiter{a, b} {
		ad, err := l.Admit(ctx, getChat, now.Add(time.Second))
		if err != nil || ad.OK || ad.Busy || ad.Done != nil || !ad.Until.Equal(until) || ad.Limit != 1000 {
			t.Fatalf("admit in a spent window: %+v %v, want refused until %v", ad, err, until)
		}
	}
	if n := zcard(t, rdb, prefix(t)+"{100}:leases"); n != 0 {
		t.Fatalf("a refused Admit left %d leases", n)
	}
	if n := zcard(t, rdb, prefix(t)+"{100}:getChat:reserved"); n != 0 {
		t.Fatalf("a refused Admit left %d reservations", n)
	}
	// Reserve sees the same window.
	if r, _ := b.Reserve(ctx, getChat, now.Add(time.Second)); r.OK || !r.Until.Equal(until) {
		t.Fatalf("reserve in the spent window: %+v", r)
	}
	ad = admit(t, ctx, b, getChat, until)
	if !ad.OK {
		t.Fatalf("admit after the reset: %+v", ad)
	}
	ad.Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: 999, Until: until.Add(time.Hour)}, until, false)
	if rl, ok := a.Snapshot(ctx, getChat, until); !ok || rl.Remaining != 999 {
		t.Fatalf("snapshot of the new window: %+v %v", rl, ok)
	}
}

// When requests in flight hold what is left of the quota, Admit refuses with a zero
// Until and a Released to wait on, taking nothing.
func TestAdmitRefusedHeldByReservations(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx := context.Background()
	now := time.Now()
	ad := admit(t, ctx, a, getChat, now)
	ad.Done(ctx, &chatclient.RateLimit{Limit: 10, Remaining: 1, Until: now.Add(time.Minute)}, now, false)
	held := admit(t, ctx, a, getChat, now)
	if !held.OK {
		t.Fatalf("admit within the remaining: %+v", held)
	}
	ad, err := b.Admit(ctx, getChat, now)
	if err != nil || ad.OK || ad.Busy || !ad.Until.IsZero() || ad.Released == nil {
		t.Fatalf("admit past the remaining: %+v %v", ad, err)
	}
	if n := zcard(t, rdb, prefix(t)+"{100}:leases"); n != 1 {
		t.Fatalf("%d leases, want 1", n)
	}
	held.Done(ctx, nil, now, false)
	ad = admit(t, ctx, b, getChat, now)
	if !ad.OK {
		t.Fatalf("admit after the release: %+v", ad)
	}
	ad.Done(ctx, nil, now, false)
}

// Done with keepSlot gives back the reservation (recording the report) and keeps the
// lease, renewed, until the returned func; meanwhile Reserve and Release work on the
// held slot as the client uses them.
func TestAdmitDoneKeepSlot(t *testing.T) {
	noLeaks(t)
	const ttl = 300 * time.Millisecond
	rdb := client(t)
	l := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	ctx := context.Background()
	now := time.Now()
	leases, reserved := prefix(t)+"{100}:leases", prefix(t)+"{100}:getChat:reserved"
	ad := admit(t, ctx, l, getChat, now)
	if !ad.OK {
		t.Fatalf("admit: %+v", ad)
	}
	release := ad.Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: 500, Until: now.Add(time.Hour)}, now, true)
	if release == nil {
		t.Fatal("Done with keepSlot returned no release")
	}
	if n := zcard(t, rdb, reserved); n != 0 {
		t.Fatalf("%d reservations after Done", n)
	}
	if rl, ok := l.Snapshot(ctx, getChat, now); !ok || rl.Remaining != 500 {
		t.Fatalf("the report was not recorded: %+v %v", rl, ok)
	}
	time.Sleep(3 * ttl) // the backoff: the lease is renewed meanwhile
	if n := zcard(t, rdb, leases); n != 1 {
		t.Fatalf("%d leases during the backoff, want 1", n)
	}
	// The next attempt on the held slot: Reserve alone.
	if r, _ := l.Reserve(ctx, getChat, now); !r.OK {
		t.Fatalf("reserve on the held slot: %+v", r)
	}
	l.Release(ctx, getChat, nil, now)
	release()
	if n := zcard(t, rdb, leases); n != 0 {
		t.Fatalf("%d leases after the release", n)
	}
	if n := zcard(t, rdb, reserved); n != 0 {
		t.Fatalf("%d reservations left", n)
	}
}

// A request that runs for several lease TTLs keeps its admitted slot.
func TestAdmitRenewalKeepsLongLease(t *testing.T) {
	noLeaks(t)
	const ttl = 300 * time.Millisecond
	holder := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	other := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	ctx := context.Background()
	now := time.Now()
	var ads []chatclient.Admission
	for range 4 {
		ads = append(ads, admit(t, ctx, holder, getChat, now))
	}
	short, cancel := context.WithTimeout(ctx, 4*ttl)
	defer cancel()
	if ad, err := other.Admit(short, getChat, now); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("admitted beside 4 live requests: %+v %v", ad, err)
	}
	for _, ad := range ads {
		ad.Done(ctx, nil, now, false)
	}
	ad := admit(t, ctx, other, getChat, now)
	ad.Done(ctx, nil, now, false)
}

// With Redis gone Admit and Done run on in-process limits (one warning, never waiting
// on Redis past the op timeout, still 4 in flight at most), and Admit goes back to
// Redis when it answers again.
func TestAdmitRedisDownFallback(t *testing.T) {
	noLeaks(t)
	logs := newLogCounter()
	const opTimeout = 100 * time.Millisecond
	rdb := client(t)
	l := limiter(t, rdb, redislimit.WithLogger(slog.New(logs)), redislimit.WithOpTimeout(opTimeout),
		redislimit.WithProbeInterval(100*time.Millisecond))
	ctx := context.Background()
	now := time.Now()
	leases := prefix(t) + "{100}:leases"

	inRedis := admit(t, ctx, l, getChat, now)
	shared.Stop()
	restarted := false
	defer func() {
		if !restarted {
			if err := shared.Restart(); err != nil {
				t.Error(err)
			}
		}
	}()
	start := time.Now()
	inRedis.Done(ctx, nil, now, false) // fails in Redis: expires there by itself
	for i := range 30 {
		ad := admit(t, ctx, l, getChat, now)
		if !ad.OK {
			t.Fatalf("admit %d with Redis down: %+v", i, ad)
		}
		ad.Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: 900, Until: now.Add(time.Hour)}, now, false)
	}
	if took := time.Since(start); took > 3*opTimeout+500*time.Millisecond {
		t.Fatalf("31 admitted calls with Redis down took %v", took)
	}
	if !l.Degraded() {
		t.Fatal("not degraded with Redis down")
	}
	var ads []chatclient.Admission
	for range 4 {
		ads = append(ads, admit(t, ctx, l, getChat, now))
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Admit(short, getChat, now); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a fifth local admit: %v", err)
	}
	if n := logs.count(slog.LevelWarn); n != 1 {
		t.Fatalf("%d warnings with Redis down, want 1: %v", n, logs.lines)
	}
	kept := ads[0].Done(ctx, nil, now, true) // a local slot kept through the return
	for _, ad := range ads[1:] {
		ad.Done(ctx, nil, now, false)
	}

	if err := shared.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	eventually(t, 5*time.Second, "Admit to go back to Redis", func() bool {
		admit(t, ctx, l, getChat, now).Done(ctx, nil, now, false)
		return !l.Degraded()
	})
	n0 := zcard(t, rdb, leases)
	ad := admit(t, ctx, l, getChat, now)
	if n := zcard(t, rdb, leases); n != n0+1 {
		t.Fatalf("leases in Redis after it came back: %d, want %d", n, n0+1)
	}
	kept()
	if n := zcard(t, rdb, leases); n != n0+1 {
		t.Fatalf("leases in Redis after a local release: %d", n)
	}
	ad.Done(ctx, nil, now, false)
	if logs.count(slog.LevelWarn) != 1 || logs.count(slog.LevelInfo) != 1 {
		t.Fatalf("log: %v", logs.lines)
	}
}

// roundTrips counts the commands and pipelines a go-redis client sends: one each is
// one round trip.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// A call with a free slot costs two round trips, Admit and Done, and what Done
// recorded is in force when it returns: the next Admit already sees a spent quota.
func TestAdmitTwoRoundTripsPerCall(t *testing.T) {
	noLeaks(t)
	rdb := client(t) // observes
	trips := &roundTrips{}
	counted := client(t)
	counted.AddHook(trips)
	l := limiter(t, counted)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(time.Hour)

	const calls = 20
	trips.n.Store(0)
	for i := range calls {
		ad := admit(t, ctx, l, getChat, now)
		if !ad.OK {
			t.Fatalf("admit %d: %+v", i, ad)
		}
		ad.Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: int64(500 - i), Until: until}, now, false)
	}
	if n := trips.n.Load(); n != 2*calls {
		t.Fatalf("%d calls took %d round trips, want %d", calls, n, 2*calls)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d leases, reservations and waiters left", n)
	}
	if rl, ok := limiter(t, client(t)).Snapshot(ctx, getChat, now); !ok || rl.Remaining != 500-calls+1 {
		t.Fatalf("window: %+v %v, want remaining %d", rl, ok, 500-calls+1)
	}
	admit(t, ctx, l, getChat, now).Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: 0, Until: until}, now, false)
	if ad, err := l.Admit(ctx, getChat, now); err != nil || ad.OK || !ad.Until.Equal(until) {
		t.Fatalf("admit after a 420's report: %+v %v, want refused until %v", ad, err, until)
	}
}

// Done called once the caller's context has ended still gives everything back (in the
// background, bounded by the op timeout).
func TestAdmitDoneAfterDeadline(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, client(t))
	now := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	ad := admit(t, ctx, l, getChat, now)
	cancel()
	ad.Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: 10, Until: now.Add(time.Hour)}, now, false)
	eventually(t, 5*time.Second, "the end to reach Redis", func() bool { return heldInRedis(t, rdb) == 0 })
	if rl, ok := l.Snapshot(context.Background(), getChat, now); !ok || rl.Remaining != 10 {
		t.Fatalf("window: %+v %v", rl, ok)
	}
}

// After Redis lost its script (a restart, SCRIPT FLUSH) Admit and Done still run in
// Redis: the script is sent again.
func TestAdmitSurvivesScriptFlush(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, client(t))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	admit(t, ctx, l, getChat, now).Done(ctx, nil, now, false)
	ad := admit(t, ctx, l, getChat, now)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	ad.Done(ctx, &chatclient.RateLimit{Limit: 100, Remaining: 0, Until: now.Add(time.Minute)}, now, false)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if ad, err := l.Admit(ctx, getChat, now); err != nil || ad.OK || ad.Until.IsZero() {
		t.Fatalf("admit after the script was flushed: %+v %v, want refused by the spent quota", ad, err)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d leases, reservations and waiters left", n)
	}
	if l.Degraded() {
		t.Fatal("degraded by a missing script")
	}
}
