// Package fleet runs a fleet of separate OS processes on one Market token, for the
// fleet benchmark and the fault tests (a process killed, a Redis outage): several
// processes call the same business of the fake Market (package chattest), either sharing the
// Market's limits through one Redis (package redislimit) or each keeping its own
// in-process limits.
//
// The parent side (the tests of this package) starts the fake Market and Redis and
// re-executes its own test binary as the children; a child is selected by the
// environment ([EnvChild]) and speaks a line protocol on stdin and stdout:
//
//   - mode "calls": the child prints "ready", reads the start time (Unix nanoseconds)
//     from stdin, waits for it, makes its calls and prints one JSON [Summary].
//   - mode "hold": the child takes every in-flight slot of the business through
//     Redis, prints "held" and blocks until it is killed.
package fleet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// Environment variables that configure a child process.
const (
	// EnvChild selects child mode and names it: [ModeCalls] or [ModeHold].
	EnvChild = "YMCHAT_FLEET_CHILD"
	// EnvConfig holds the child's [Config] as JSON.
	EnvConfig = "YMCHAT_FLEET_CONFIG"
)

// Child modes.
const (
	// ModeCalls makes Config.Calls getChat calls and reports a [Summary].
	ModeCalls = "calls"
	// ModeHold takes every in-flight slot of the business and blocks.
	ModeHold = "hold"
)

// Limits a child uses.
const (
	// Shared shares the slots and quotas through Redis (redislimit).
	Shared = "shared"
	// Local keeps the client's in-process default (chatclient.NewLocalLimits).
	Local = "local"
)

// Protocol lines a child prints.
const (
	// Ready is printed by a calls child once it is set up, before it reads its start.
	Ready = "ready"
	// Held is printed by a hold child once it holds every slot.
	Held = "held"
)

// Config is what a child is told by its parent.
type Config struct {
	// URL is the fake Market's base URL and Token its token.
	URL, Token string
	// Limits is [Shared] or [Local].
	Limits string
	// RedisAddr is the Redis address (host:port) for Shared and for ModeHold.
	RedisAddr string
	// Prefix is the redislimit key prefix, one per run.
	Prefix string
	// LeaseTTL is redislimit's lease TTL; 0 keeps its default.
	LeaseTTL time.Duration
	// FleetSize is redislimit's fleet size (WithFleetSize); 0 keeps its default.
	FleetSize int
	// Business is the business every call is on.
	Business int64
	// Calls is how many getChat calls the child makes, spread over Workers goroutines.
	Calls, Workers int
	// Timeout bounds the whole child.
	Timeout time.Duration
}

// Summary is what a calls child reports on stdout.
type Summary struct {
	// Calls is how many calls were made and Errors how many of them failed.
	Calls, Errors int
	// FirstError is the text of the first failure, if any.
	FirstError string `json:",omitempty"`
	// Start and End are the Unix nanoseconds when the first call began and the last
	// one ended.
	Start, End int64
	// Degraded is true when the Redis limiter was on in-process limits at the end, and
	// WasDegraded when it was after any call.
	Degraded, WasDegraded bool
}

// Env returns the environment entries that run a child in mode with cfg.
func Env(mode string, cfg Config) []string {
	b, _ := json.Marshal(cfg)
	return []string{EnvChild + "=" + mode, EnvConfig + "=" + string(b)}
}

// Main runs the child selected by the environment, if any, and reports whether it
// did; a test binary calls it from TestMain and exits with the returned code.
func Main() (code int, child bool) {
	mode := os.Getenv(EnvChild)
	if mode == "" {
		return 0, false
	}
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(EnvConfig)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "fleet child: bad config:", err)
		return 2, true
	}
	var err error
	switch mode {
	case ModeCalls:
		err = RunCalls(cfg, os.Stdin, os.Stdout)
	case ModeHold:
		err = RunHold(cfg, os.Stdout)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet child:", err)
		return 1, true
	}
	return 0, true
}

// newLimiter returns a redislimit Limiter on cfg's Redis, and a func closing both.
func newLimiter(cfg Config) (*redislimit.Limiter, func(), error) {
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, ContextTimeoutEnabled: true})
	opts := []redislimit.Option{redislimit.WithPrefix(cfg.Prefix)}
	if cfg.LeaseTTL > 0 {
		opts = append(opts, redislimit.WithLeaseTTL(cfg.LeaseTTL))
	}
	if cfg.FleetSize > 0 {
		opts = append(opts, redislimit.WithFleetSize(cfg.FleetSize))
	}
	lim, err := redislimit.New(rdb, opts...)
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return lim, func() { lim.Close(); rdb.Close() }, nil
}

// RunCalls is the calls child: it sets up a client, prints [Ready] on out, reads the
// start time from in, waits for it, makes cfg.Calls getChat calls over cfg.Workers
// goroutines and prints a JSON [Summary] on out.
func RunCalls(cfg Config, in io.Reader, out io.Writer) error {
	if cfg.Workers < 1 || cfg.Calls < 0 {
		return errors.New("need at least one worker and no negative calls")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	opts := []chatclient.Option{chatclient.WithBaseURL(cfg.URL)}
	var lim *redislimit.Limiter
	switch cfg.Limits {
	case Shared:
		l, closeLim, err := newLimiter(cfg)
		if err != nil {
			return err
		}
		defer closeLim()
		lim = l
		opts = append(opts, chatclient.WithLimits(lim))
	case Local:
	default:
		return fmt.Errorf("unknown limits %q", cfg.Limits)
	}
	c, err := chatclient.New(chatclient.APIKey(cfg.Token), opts...)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, Ready); err != nil {
		return err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the start time: %w", err)
	}
	startNs, err := strconv.ParseInt(line[:len(line)-1], 10, 64)
	if err != nil {
		return fmt.Errorf("bad start time %q: %w", line, err)
	}
	time.Sleep(time.Until(time.Unix(0, startNs)))

	var (
		next     atomic.Int64
		mu       sync.Mutex
		sum      Summary
		wg       sync.WaitGroup
		chatID   = int64(5000001) // a chat of business 100 in chattest's default fixture
		firstErr error
	)
	sum.Start = time.Now().UnixNano()
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(cfg.Calls) {
				_, err := c.GetChat(ctx, cfg.Business, chatID)
				mu.Lock()
				if lim != nil && lim.Degraded() {
					sum.WasDegraded = true
				}
				sum.Calls++
				if err != nil {
					sum.Errors++
					if firstErr == nil {
						firstErr = err
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sum.End = time.Now().UnixNano()
	if firstErr != nil {
		sum.FirstError = firstErr.Error()
	}
	if lim != nil {
		sum.Degraded = lim.Degraded()
	}
	return json.NewEncoder(out).Encode(sum)
}

// RunHold is the hold child: it takes every in-flight slot of cfg.Business through
// cfg's Redis (redislimit's default of 4), prints [Held] on out and blocks until the
// process is killed (or cfg.Timeout, default a minute, passes).
func RunHold(cfg Config, out io.Writer) error {
	lim, closeLim, err := newLimiter(cfg)
	if err != nil {
		return err
	}
	defer closeLim()
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	key := chatclient.QuotaKey{BusinessID: cfg.Business, Operation: chatclient.OpGetChat}
	for range redislimit.DefaultMaxInFlight {
		a, err := lim.Admit(ctx, key, nil, time.Now())
		if err != nil {
			return err
		}
		if !a.OK {
			return fmt.Errorf("refused by the quota: %+v", a)
		}
		defer lim.Done(context.Background(), a.Ticket, nil, time.Now(), false)
	}
	if lim.Degraded() {
		return errors.New("the limiter fell back to in-process limits")
	}
	if _, err := fmt.Fprintln(out, Held); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// MinWall is the least wall time calls requests can take when a quota allows limit of
// them per window (windows aligned to the start), at most parallel are in flight and
// each takes latency: every full window but the last is waited out, and the last
// window's calls go parallel at a time.
func MinWall(calls, limit int, window time.Duration, parallel int, latency time.Duration) time.Duration {
	if calls <= 0 {
		return 0
	}
	windows := (calls + limit - 1) / limit
	last := calls - (windows-1)*limit
	// The calls of one full window must fit in it for the windows to be the bound.
	perWindow := time.Duration((min(limit, calls)+parallel-1)/parallel) * latency
	if perWindow > window {
		return time.Duration((calls+parallel-1)/parallel) * latency
	}
	return time.Duration(windows-1)*window + time.Duration((last+parallel-1)/parallel)*latency
}
