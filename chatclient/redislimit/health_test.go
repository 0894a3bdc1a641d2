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
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// stopShared stops the shared Redis and returns the func that starts it again; t's
// cleanup starts it if the test did not.
func stopShared(t *testing.T) (restart func()) {
	shared.Stop()
	restarted := false
	restart = func() {
		if !restarted {
			restarted = true
			if err := shared.Restart(); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(restart)
	return restart
}

// With Redis gone the Limiter serves from local limits (one warning, never waiting on
// Redis, still 4 in flight at most) and goes back to Redis when it answers again; a
// ticket of the local limits goes back to them, Redis back or not.
func TestRedisDownFallbackAndBack(t *testing.T) {
	noLeaks(t)
	logs := newLogCounter()
	const opTimeout = 100 * time.Millisecond
	rdb := client(t)
	l := limiter(t, rdb, redislimit.WithLogger(slog.New(logs)), redislimit.WithOpTimeout(opTimeout),
		redislimit.WithProbeInterval(100*time.Millisecond))
	ctx := context.Background()
	now := time.Now()
	leases := prefix(t) + "{100}:leases"

	inRedis := admit(t, l, getChat, now)
	restart := stopShared(t)
	start := time.Now()
	done(l, inRedis, nil, now) // fails in Redis: expires there by itself
	for range 30 {
		done(l, admit(t, l, getChat, now), &chatclient.RateLimit{Limit: 1000, Remaining: 900, Until: now.Add(time.Hour)}, now)
	}
	if took := time.Since(start); took > 3*opTimeout+time.Second {
		t.Fatalf("31 calls with Redis down took %v: they waited on Redis", took)
	}
	if !l.Degraded() {
		t.Fatal("not degraded with Redis down")
	}
	var local []chatclient.Ticket
	for range 4 {
		local = append(local, admit(t, l, getChat, now))
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Admit(short, getChat, nil, now); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a fifth local admission: %v", err)
	}
	if n := logs.count(slog.LevelWarn); n != 1 {
		t.Fatalf("%d warnings with Redis down, want 1: %v", n, logs.lines)
	}
	kept := l.Done(ctx, local[0], nil, now, true) // a local slot kept through the return
	for _, tk := range local[1:] {
		done(l, tk, nil, now)
	}

	restart()
	eventually(t, 10*time.Second, "the Limiter to go back to Redis", func() bool {
		done(l, admit(t, l, getChat, now), nil, now)
		return !l.Degraded()
	})
	n0 := zcard(t, rdb, leases)
	tk := admit(t, l, getChat, now)
	if n := zcard(t, rdb, leases); n != n0+1 {
		t.Fatalf("slots in Redis after it came back: %d, want %d", n, n0+1)
	}
	a, err := l.Admit(ctx, getChat, kept, now) // the kept local slot: a place beside it, locally
	if err != nil || !a.OK || zcard(t, rdb, leases) != n0+1 {
		t.Fatalf("admit on a kept local slot: %+v %v, %d slots in Redis", a, err, zcard(t, rdb, leases))
	}
	done(l, a.Ticket, nil, now)
	if n := zcard(t, rdb, leases); n != n0+1 {
		t.Fatalf("slots in Redis after a local ticket's end: %d", n)
	}
	done(l, tk, nil, now)
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
			go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, c) }()
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
		start := time.Now()
		done(l, admit(t, l, getChat, now), nil, now)
		l.Snapshot(context.Background(), getChat, now)
		if took := time.Since(start); took > opTimeout+time.Second {
			t.Fatalf("call %d took %v", i, took)
		}
	}
	if n := logs.count(slog.LevelWarn); n != 1 {
		t.Fatalf("%d warnings, want 1: %v", n, logs.lines)
	}
}

// An outage at New is not an error: the Limiter starts on local limits, warning once.
func TestNewWithRedisDownStartsLocal(t *testing.T) {
	noLeaks(t)
	logs := newLogCounter()
	l, err := newOn(t, &redis.Options{Addr: "127.0.0.1:1"}, redislimit.WithLogger(slog.New(logs)),
		redislimit.WithOpTimeout(redislimit.DefaultOpTimeout))
	if err != nil {
		t.Fatal(err)
	}
	if !l.Degraded() || logs.count(slog.LevelWarn) != 1 {
		t.Fatalf("degraded %v, log %v", l.Degraded(), logs.lines)
	}
	done(l, admit(t, l, getChat, time.Now()), nil, time.Now())
}

// While Redis is away a process told the fleet's size keeps its share of each
// business's slots, ceil(4/n) and at least 1.
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
		var held []chatclient.Ticket
		for range tc.share {
			held = append(held, admit(t, l, getChat, now))
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		if _, err := l.Admit(short, getChat, nil, now); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("fleet of %d: an admission past the share of %d: %v", tc.fleet, tc.share, err)
		}
		cancel()
		for _, tk := range held {
			done(l, tk, nil, now)
		}
		l.Close()
		rdb.Close()
	}
}

// While Redis hangs (CLIENT PAUSE), a call with a 50 ms deadline returns its
// DeadlineExceeded at the deadline, long before the pause ends, although the op timeout
// is longer than the pause; what it left in Redis is given back after.
func TestDeadlineHoldsWhileRedisPaused(t *testing.T) {
	noLeaks(t)
	const pause = 3 * time.Second
	addr := realRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	ctx := context.Background()
	l, err := newOn(t, &redis.Options{Addr: addr}, redislimit.WithPrefix(prefix(t)), redislimit.WithOpTimeout(2*pause))
	if err != nil {
		t.Fatal(err)
	}
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	c, err := chatclient.New(chatclient.APIKey(chattest.DefaultToken), chatclient.WithBaseURL(srv.URL), chatclient.WithLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetChat(ctx, 100, 5000001); err != nil { // warms the connections
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	const deadline = 50 * time.Millisecond
	for _, tc := range []struct {
		name string
		call func(context.Context) error
	}{
		{"Admit", func(ctx context.Context) error { _, err := l.Admit(ctx, getChat, nil, time.Now()); return err }},
		{"GetChat", func(ctx context.Context) error { _, err := c.GetChat(ctx, 100, 5000001); return err }},
	} {
		cctx, cancel := context.WithTimeout(ctx, deadline)
		start := time.Now()
		err := tc.call(cctx)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s while Redis is paused: %v, want DeadlineExceeded", tc.name, err)
		}
		if time.Since(paused) >= pause {
			t.Errorf("%s took %v with a %v deadline: it waited for the pause", tc.name, took, deadline)
		}
		t.Logf("%s returned after %v (deadline %v)", tc.name, took.Round(time.Millisecond), deadline)
	}
	eventually(t, 4*pause, "the clean-ups after the pause", func() bool {
		n := int64(0)
		for _, k := range []string{"leases", "queue", "seen", "getChat:reserved"} {
			m, err := admin.ZCard(ctx, prefix(t)+"{100}:"+k).Result()
			if err != nil {
				return false
			}
			n += m
		}
		return n == 0
	})
	if l.Degraded() {
		t.Fatal("degraded by calls whose deadline cut them short")
	}
}
