package redislimit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// admitted runs one admitted call's limiter steps and returns how long they took.
func admitted(t *testing.T, l *redislimit.Limiter, now time.Time) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	release, err := l.Acquire(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Reserve(ctx, getChat, now)
	if err != nil || !r.OK {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	l.Release(ctx, getChat, &chatclient.RateLimit{Limit: 1000, Remaining: 900, Until: now.Add(time.Hour)}, now)
	release()
	return time.Since(start)
}

// With Redis gone the Limiter serves from in-process limits, warns once, never waits
// on Redis past the op timeout, and goes back to Redis when it answers again.
func TestRedisDownFallbackAndBack(t *testing.T) {
	noLeaks(t)
	logs := newLogCounter()
	const opTimeout = 100 * time.Millisecond
	rdb := client(t)
	l := limiter(t, rdb, redislimit.WithLogger(slog.New(logs)), redislimit.WithOpTimeout(opTimeout),
		redislimit.WithProbeInterval(100*time.Millisecond))
	ctx := context.Background()
	now := time.Now()
	leaseKey := prefix(t) + "{100}:leases"

	held, err := l.Acquire(ctx, 100) // taken in Redis
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := l.Reserve(ctx, getChat, now); !r.OK {
		t.Fatal("reserve refused")
	}

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
	held() // goes to Redis, which fails: it would expire there by itself
	l.Release(ctx, getChat, nil, now)
	if took := time.Since(start); took > 2*opTimeout+250*time.Millisecond {
		t.Fatalf("releases with Redis down took %v", took)
	}
	for i := range 30 {
		if took := admitted(t, l, now); took > opTimeout+250*time.Millisecond {
			t.Fatalf("call %d with Redis down took %v", i, took)
		}
	}
	if !l.Degraded() {
		t.Fatal("not degraded with Redis down")
	}
	// The local fallback still bounds the in-flight requests.
	var releases []func()
	for range 4 {
		r, err := l.Acquire(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(short, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a fifth local lease: %v", err)
	}
	if n := logs.count(slog.LevelWarn); n != 1 {
		t.Fatalf("%d warnings with Redis down, want 1: %v", n, logs.lines)
	}

	for _, r := range releases[1:] {
		r()
	}
	local := releases[0] // kept through the return to Redis

	if err := shared.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	eventually(t, 5*time.Second, "the Limiter to go back to Redis", func() bool {
		admitted(t, l, now)
		return !l.Degraded()
	})
	// A lease taken locally is given back locally; new ones are in Redis.
	// (A restarted redis-server lost everything; miniredis keeps the lease whose release
	// failed, until it expires.)
	n0, err := rdb.ZCard(ctx, leaseKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Acquire(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.ZCard(ctx, leaseKey).Result(); err != nil || n != n0+1 {
		t.Fatalf("leases in Redis after it came back: %d, %v; want %d", n, err, n0+1)
	}
	local()
	if n, err := rdb.ZCard(ctx, leaseKey).Result(); err != nil || n != n0+1 {
		t.Fatalf("leases in Redis after a local release: %d, %v", n, err)
	}
	r()
	if logs.count(slog.LevelWarn) != 1 || logs.count(slog.LevelInfo) != 1 {
		t.Fatalf("log: %v", logs.lines)
	}
}

// A Redis that accepts connections but never answers costs one call the op timeout,
// then the Limiter runs locally.
func TestRedisSlowBoundedByOpTimeout(t *testing.T) {
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() { // a black hole: reads everything, answers nothing
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); io.Copy(io.Discard, c) }()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	logs := newLogCounter()
	const opTimeout = 50 * time.Millisecond
	l, err := redislimit.New(rdb, redislimit.WithOpTimeout(opTimeout), redislimit.WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Now()
	for i := range 10 {
		if took := admitted(t, l, now); took > opTimeout+250*time.Millisecond {
			t.Fatalf("call %d took %v", i, took)
		}
	}
	start := time.Now()
	l.Snapshot(context.Background(), getChat, now)
	if took := time.Since(start); took > opTimeout+250*time.Millisecond {
		t.Fatalf("snapshot took %v", took)
	}
	if n := logs.count(slog.LevelWarn); n != 1 {
		t.Fatalf("%d warnings, want 1: %v", n, logs.lines)
	}
}

// While Redis is away a process told the fleet's size keeps its share of each
// business's slots, ceil(4/n) and at least 1, through Acquire and Admit alike.
func TestFleetSizeSharesSlotsWhileDegraded(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	now := time.Now()
	for _, tc := range []struct{ fleet, share int }{{1, 4}, {3, 2}, {4, 1}, {10, 1}} {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
		l, err := redislimit.New(rdb, redislimit.WithFleetSize(tc.fleet), redislimit.WithLogger(slog.New(newLogCounter())))
		if err != nil {
			t.Fatal(err)
		}
		if !l.Degraded() {
			t.Fatal("not degraded without Redis")
		}
		var releases []func()
		for i := range tc.share {
			if i%2 == 0 {
				r, err := l.Acquire(ctx, 100)
				if err != nil {
					t.Fatal(err)
				}
				releases = append(releases, r)
			} else {
				ad := admit(t, ctx, l, getChat, now)
				releases = append(releases, func() { ad.Done(ctx, nil, now, false) })
			}
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		if _, err := l.Acquire(short, 100); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("fleet of %d: a slot past the share of %d: %v", tc.fleet, tc.share, err)
		}
		if _, err := l.Admit(short, getChat, now); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("fleet of %d: an admission past the share of %d: %v", tc.fleet, tc.share, err)
		}
		cancel()
		for _, r := range releases {
			r()
		}
		l.Close()
		rdb.Close()
	}
}

// The share counts the requests that took their slot in Redis before it failed, and
// it holds for a while after Redis is back, while the rest of the fleet may still be
// on local limits; then Redis alone bounds the fleet again.
func TestFleetShareSpansRedisFailureAndReturn(t *testing.T) {
	noLeaks(t)
	const probe, opTimeout = 1500 * time.Millisecond, 300 * time.Millisecond
	rdb := client(t)
	l := limiter(t, rdb, redislimit.WithFleetSize(4), redislimit.WithProbeInterval(probe),
		redislimit.WithOpTimeout(opTimeout), redislimit.WithLogger(slog.New(newLogCounter())))
	ctx := context.Background()
	now := time.Now()
	r1, err := l.Acquire(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Acquire(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	shared.Stop()
	restarted := false
	defer func() {
		if !restarted {
			if err := shared.Restart(); err != nil {
				t.Error(err)
			}
		}
	}()
	within := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		r, err := l.Acquire(ctx, 100)
		if err == nil {
			r()
		}
		return err
	}
	short := func() error { return within(50 * time.Millisecond) }
	// The two requests in flight count against this process's share of 1. (The first
	// call's deadline leaves it time to find Redis down.)
	if err := within(time.Second); !errors.Is(err, context.DeadlineExceeded) || !l.Degraded() {
		t.Fatalf("a slot beside two taken in Redis, Redis down: %v (degraded %v)", err, l.Degraded())
	}
	r1()
	if err := short(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a slot beside one taken in Redis, Redis down: %v", err)
	}
	r2()
	if err := short(); err != nil {
		t.Fatalf("a slot with none in flight, Redis down: %v", err)
	}

	if err := shared.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	eventually(t, 5*time.Second, "the Limiter to go back to Redis", func() bool {
		admitted(t, l, now)
		return !l.Degraded()
	})
	// Back on Redis, for a probe interval and an op timeout the share still holds.
	held, err := l.Acquire(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := short(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second slot just after Redis came back: %v, want the share of 1 to hold", err)
	}
	eventually(t, 2*(probe+opTimeout), "Redis alone to bound the slots again", func() bool { return short() == nil })
	held()
}
