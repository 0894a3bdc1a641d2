package redislimit_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
	"github.com/ymchat/ymchat/internal/redistest"
)

// shared is the Redis the tests share (see internal/redistest); tests keep apart by
// key prefix.
var shared *redistest.Server

func TestMain(m *testing.M) {
	r, err := redistest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "redislimit tests:", err)
		os.Exit(1)
	}
	fmt.Println("redislimit tests:", r.Describe())
	shared = r
	code := m.Run()
	r.Stop()
	os.Exit(code)
}

// client returns a go-redis client of the shared server, closed when t ends.
func client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: shared.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// prefix is a key prefix of t's own. The keys a run of t left (go test -count) are
// deleted first.
func prefix(t testing.TB) string {
	p := "test:" + t.Name() + ":"
	cleared.Do(t, func() {
		c := redis.NewClient(&redis.Options{Addr: shared.Addr})
		defer c.Close()
		ctx := context.Background()
		if keys, err := c.Keys(ctx, p+"*").Result(); err == nil && len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return p
}

// cleared runs a function once per test run.
var cleared = &onceSet{done: map[testing.TB]bool{}}

type onceSet struct {
	mu   sync.Mutex
	done map[testing.TB]bool
}

func (o *onceSet) Do(key testing.TB, f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.done[key] {
		o.done[key] = true
		f()
	}
}

// limiter returns a Limiter with t's prefix, closed when t ends.
func limiter(t testing.TB, rdb redis.UniversalClient, opts ...redislimit.Option) *redislimit.Limiter {
	t.Helper()
	l, err := redislimit.New(rdb, append([]redislimit.Option{redislimit.WithPrefix(prefix(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// noLeaks checks, after everything else t set up is cleaned up, that t left no
// goroutine behind.
func noLeaks(t *testing.T) {
	opts := []goleak.Option{goleak.IgnoreCurrent(),
		// A restarted miniredis serves from new goroutines.
		goleak.IgnoreAnyFunction("github.com/alicebob/miniredis/v2/server.(*Server).serve"),
		goleak.IgnoreAnyFunction("github.com/alicebob/miniredis/v2/server.(*Server).ServeConn"),
	}
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// eventually waits until cond holds, failing t after the deadline.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logCounter is a slog handler counting records per level.
type logCounter struct {
	mu     sync.Mutex
	counts map[slog.Level]int
	lines  []string
}

func newLogCounter() *logCounter { return &logCounter{counts: map[slog.Level]int{}} }

func (h *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	h.lines = append(h.lines, r.Level.String()+" "+r.Message)
	return nil
}
func (h *logCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCounter) WithGroup(string) slog.Handler      { return h }

func (h *logCounter) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}

// realRedis starts a redis-server of t's own on a free loopback port, with args added
// to its command line, stopped when t ends, and returns its address. For what the
// embedded miniredis cannot do: passwords checked as Redis does, ACL users, CLIENT
// PAUSE. redis-server must be on PATH (Debian's package; .ci/run installs it).
func realRedis(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("this test needs redis-server on PATH (Debian's package redis-server; .ci/run installs it)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// It is up once it answers a PING, with PONG or, wanting a password, an error.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, err = c.Write([]byte("PING\r\n"))
			if err == nil {
				_, err = bufio.NewReader(c).ReadString('\n')
			}
			c.Close()
			if err == nil {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var getChat = chatclient.QuotaKey{BusinessID: 100, Operation: chatclient.OpGetChat}

// admit admits a call of key at now, failing t unless it is admitted.
func admit(t testing.TB, l *redislimit.Limiter, key chatclient.QuotaKey, now time.Time) chatclient.Ticket {
	t.Helper()
	a, err := l.Admit(context.Background(), key, nil, now)
	if err != nil || !a.OK {
		t.Fatalf("admit: %+v %v", a, err)
	}
	return a.Ticket
}

// done ends the call of ticket tk with report, giving back its slot.
func done(l *redislimit.Limiter, tk chatclient.Ticket, report *chatclient.RateLimit, now time.Time) {
	l.Done(context.Background(), tk, report, now, false)
}

// zcard counts a zset's members, failing t on an error.
func zcard(t testing.TB, rdb *redis.Client, key string) int64 {
	t.Helper()
	n, err := rdb.ZCard(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// heldInRedis counts what Redis holds for business 100 under t's prefix: its slots, its
// waiters and the places in its getChat quota.
func heldInRedis(t testing.TB, rdb *redis.Client) int64 {
	t.Helper()
	p := prefix(t) + "{100}:"
	return zcard(t, rdb, p+"leases") + zcard(t, rdb, p+"queue") + zcard(t, rdb, p+"seen") + zcard(t, rdb, p+"getChat:reserved")
}

// roundTrips counts the commands and pipelines a go-redis client sends: one each is one
// round trip.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}
