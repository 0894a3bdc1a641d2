package redislimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// testRedis is the Redis the tests share: a real redis-server child process when one is
// on PATH, miniredis otherwise. Tests keep apart by key prefix.
type testRedis struct {
	addr string
	bin  string // redis-server's path; "" for miniredis
	cmd  *exec.Cmd
	mini *miniredis.Miniredis
}

var shared *testRedis

func TestMain(m *testing.M) {
	r, err := startRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "redislimit tests:", err)
		os.Exit(1)
	}
	shared = r
	code := m.Run()
	r.stop()
	os.Exit(code)
}

func startRedis() (*testRedis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		mini := miniredis.NewMiniRedis()
		if err := mini.Start(); err != nil {
			return nil, err
		}
		fmt.Println("redislimit tests: redis-server is not on PATH; running against miniredis")
		return &testRedis{addr: mini.Addr(), mini: mini}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &testRedis{addr: addr, bin: bin}
	return r, r.start()
}

// start runs redis-server on r's port and waits until it answers.
func (r *testRedis) start() error {
	if r.mini != nil {
		return r.mini.Restart()
	}
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command(r.bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		return err
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			r.stop()
			return fmt.Errorf("redis-server on %s did not answer: %v", r.addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the server (its data is lost: nothing is saved).
func (r *testRedis) stop() {
	if r.mini != nil {
		r.mini.Close()
		return
	}
	if r.cmd != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// client returns a go-redis client of the shared server, closed when t ends.
func client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: shared.addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// prefix is a key prefix of t's own.
func prefix(t testing.TB) string { return "test:" + t.Name() + ":" }

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
