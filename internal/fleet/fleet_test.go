package fleet_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/redislimit"
	"github.com/ymchat/ymchat/internal/fleet"
	"github.com/ymchat/ymchat/internal/redistest"
)

func TestMain(m *testing.M) {
	if code, child := fleet.Main(); child {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// startRedis runs a Redis on a free loopback port (see internal/redistest), stopped
// when t ends.
func startRedis(t testing.TB) *redistest.Server {
	t.Helper()
	r, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	t.Log(r.Describe())
	return r
}

// market is the fake Market behind a handler that sorts its 420s by their message:
// the parallel limit ("Hit rate limit of 4 parallel requests") or a spent quota.
type market struct {
	srv                    *chattest.Server
	url                    string
	total, parallel, quota atomic.Int64
	unexpected             atomic.Int64 // any other status but 200
	mu                     sync.Mutex
	log                    []arrival // every request, for FLEET_TRACE
}

// arrival is one request the Market answered: when it arrived, when it was answered
// and with what status.
type arrival struct {
	at, done time.Time
	status   int
}

func newMarket(t testing.TB, opts ...chattest.Option) *market {
	m := &market{srv: chattest.NewServer(append([]chattest.Option{chattest.WithDefaultFixture(), chattest.WithRequestLog(0)}, opts...)...)}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		at := time.Now()
		m.srv.ServeHTTP(rec, r)
		m.total.Add(1)
		m.mu.Lock()
		m.log = append(m.log, arrival{at, time.Now(), rec.status})
		m.mu.Unlock()
		switch {
		case rec.status == 420 && bytes.Contains(rec.body.Bytes(), []byte("parallel requests")):
			m.parallel.Add(1)
		case rec.status == 420:
			m.quota.Add(1)
		case rec.status != http.StatusOK && rec.status != 0:
			m.unexpected.Add(1)
		}
	}))
	m.url = front.URL
	t.Cleanup(func() { front.Close(); m.srv.Close() })
	return m
}

// recorder notes the status and, for a 420, the body of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.status == 420 && r.body.Len() < 1024 {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

// child is a running child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	errb  *bytes.Buffer
}

// startChild re-executes the test binary as a child in mode with cfg.
func startChild(t testing.TB, mode string, cfg fleet.Config) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fleet.Env(mode, cfg)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errb := &bytes.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout), errb: errb}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return c
}

// expect reads one line from the child and fails t unless it is want.
func (c *child) expect(t testing.TB, want string) {
	t.Helper()
	line, err := c.out.ReadString('\n')
	if strings.TrimSpace(line) != want {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		t.Fatalf("child said %q (%v), want %q; stderr:\n%s", line, err, want, c.errb.String())
	}
}

// fleetRun is the outcome of one run of the fleet.
type fleetRun struct {
	calls, errors           int
	parallel420s, quota420s int64
	requests, unexpected    int64
	wall                    time.Duration
	degraded, wasDegraded   bool
	firstError              string
}

// run is what one run of the fleet does.
type run struct {
	limits, redisAddr string
	calls             int                   // in all, spread evenly over the processes
	quota             chattest.Quota        // of getChat
	fleetSize         int                   // redislimit's WithFleetSize; 0: its default
	during            func(start time.Time) // run beside the fleet from its start, if not nil
}

const (
	procs    = 4
	workers  = 4   // goroutines per process
	calls    = 400 // in all: 100 per process
	quota    = 100 // getChat requests per window
	window   = time.Second
	latency  = 20 * time.Millisecond // every request of the fake
	business = 100
)

var runs atomic.Int64

// runFleet starts procs children with rn's limits against a fresh fake Market (and,
// for shared limits, a fresh key prefix on rn.redisAddr), starts them together at a
// whole second (a quota window's start) and collects their summaries.
func runFleet(tb testing.TB, rn run) fleetRun {
	m := newMarket(tb,
		chattest.WithQuota("getChat", rn.quota),
		chattest.WithFaultRate(1, 1, chattest.Delay(latency)))
	limits := rn.limits
	cfg := fleet.Config{
		URL: m.url, Token: chattest.DefaultToken, Limits: limits, RedisAddr: rn.redisAddr,
		Prefix:    fmt.Sprintf("fleet:%d:%d:", os.Getpid(), runs.Add(1)),
		FleetSize: rn.fleetSize,
		Business:  business, Calls: rn.calls / procs, Workers: workers, Timeout: time.Minute,
	}
	children := make([]*child, procs)
	for i := range children {
		children[i] = startChild(tb, fleet.ModeCalls, cfg)
	}
	for _, c := range children {
		c.expect(tb, fleet.Ready)
	}
	// Start at the next whole second at least 200ms away: the quota windows start
	// at whole seconds, so the run begins with a fresh window.
	start := time.Now().Add(200 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	for _, c := range children {
		if _, err := fmt.Fprintln(c.stdin, start.UnixNano()); err != nil {
			tb.Fatal(err)
		}
	}
	if rn.during != nil {
		done := make(chan struct{})
		go func() { defer close(done); rn.during(start) }()
		defer func() { <-done }()
	}
	var r fleetRun
	var end int64
	for _, c := range children {
		line, err := c.out.ReadString('\n')
		var s fleet.Summary
		if err != nil || json.Unmarshal([]byte(line), &s) != nil {
			tb.Fatalf("child summary %q (%v); stderr:\n%s", line, err, c.errb.String())
		}
		if err := c.cmd.Wait(); err != nil {
			tb.Fatalf("child: %v; stderr:\n%s", err, c.errb.String())
		}
		r.calls += s.Calls
		r.errors += s.Errors
		r.degraded = r.degraded || s.Degraded
		r.wasDegraded = r.wasDegraded || s.WasDegraded
		if r.firstError == "" {
			r.firstError = s.FirstError
		}
		end = max(end, s.End)
	}
	r.wall = time.Unix(0, end).Sub(start)
	// FLEET_TRACE=file appends every request (limits, arrival and answer in seconds
	// since the start, status) to file, to see where a run spends its time.
	if path := os.Getenv("FLEET_TRACE"); path != "" {
		f, _ := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		defer f.Close()
		for _, a := range m.log {
			fmt.Fprintf(f, "%s %.3f %.3f %d\n", limits, a.at.Sub(start).Seconds(), a.done.Sub(start).Seconds(), a.status)
		}
	}
	r.parallel420s, r.quota420s = m.parallel.Load(), m.quota.Load()
	r.requests, r.unexpected = m.total.Load(), m.unexpected.Load()
	return r
}

// BenchmarkFleet runs 4 separate processes, 4 goroutines each, making 400 getChat
// calls in all on business 100 of the fake Market (20 ms per request, a quota of 100
// per 1 s window, 4 parallel requests per business), once with the limits shared
// through one Redis and once with each process's in-process limits. It reports the
// Market's parallel-limit and quota 420s, the callers' errors, the wall time and its
// ratio to the least the quota allows. Run it with `make bench-fleet`.
func BenchmarkFleet(b *testing.B) {
	redisAddr := startRedis(b).Addr
	minWall := fleet.MinWall(calls, quota, window, chattest.DefaultParallelLimit, latency)
	for _, limits := range []string{fleet.Shared, fleet.Local} {
		b.Run(limits, func(b *testing.B) {
			var r fleetRun
			for range b.N {
				r = runFleet(b, run{limits: limits, redisAddr: redisAddr, calls: calls,
					quota: chattest.Quota{Limit: quota, Window: window}})
			}
			if r.calls != calls {
				b.Fatalf("%d calls made, want %d", r.calls, calls)
			}
			if r.unexpected > 0 {
				b.Errorf("the Market answered %d requests with neither 200 nor 420", r.unexpected)
			}
			if r.degraded {
				b.Error("a process fell back to in-process limits")
			}
			if r.firstError != "" {
				b.Logf("first caller error: %s", r.firstError)
			}
			b.ReportMetric(float64(r.parallel420s), "parallel-420s")
			b.ReportMetric(float64(r.quota420s), "quota-420s")
			b.ReportMetric(float64(r.errors), "caller-errors")
			b.ReportMetric(float64(r.requests), "requests")
			b.ReportMetric(r.wall.Seconds(), "wall-s")
			b.ReportMetric(minWall.Seconds(), "min-s")
			b.ReportMetric(r.wall.Seconds()/minWall.Seconds(), "x-min")
			b.ReportMetric(0, "ns/op") // one op is a whole run: wall-s says it
		})
	}
}

// A process killed (SIGKILL) while it holds every in-flight slot of a business gives
// nothing back, yet the others get every slot again within 3 s: the slots (default
// lease TTL 2 s, renewed every third of it while their process lives) expire.
func TestFleetKillFreesLeases(t *testing.T) {
	const ttl, bound = redislimit.DefaultLeaseTTL, 3 * time.Second
	redisAddr := startRedis(t).Addr
	cfg := fleet.Config{RedisAddr: redisAddr, Prefix: fmt.Sprintf("fleet-kill:%d:", os.Getpid()),
		Business: business, Timeout: time.Minute}
	holder := startChild(t, fleet.ModeHold, cfg)
	holder.expect(t, fleet.Held)

	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, ContextTimeoutEnabled: true})
	defer rdb.Close()
	lim, err := redislimit.New(rdb, redislimit.WithPrefix(cfg.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close()
	key := chatclient.QuotaKey{BusinessID: business, Operation: chatclient.OpGetChat}

	// While the holder lives (and renews), no slot is free, past the TTL too.
	ctx, cancel := context.WithTimeout(context.Background(), ttl+ttl/2)
	_, err = lim.Admit(ctx, key, nil, time.Now())
	cancel()
	if err == nil {
		t.Fatal("got a slot while another process held all of them")
	}

	if err := holder.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = holder.cmd.Wait()

	// The slots come back at the TTL; the callers waiting for them take them at their
	// next ask.
	ctx, cancel = context.WithDeadline(context.Background(), killed.Add(bound))
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		tickets []chatclient.Ticket
	)
	for range redislimit.DefaultMaxInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := lim.Admit(ctx, key, nil, time.Now())
			mu.Lock()
			defer mu.Unlock()
			if err != nil || !a.OK {
				errs = append(errs, fmt.Errorf("%+v %w", a, err))
				return
			}
			tickets = append(tickets, a.Ticket)
		}()
	}
	wg.Wait()
	regained := time.Since(killed)
	for _, tk := range tickets {
		lim.Done(context.Background(), tk, nil, time.Now(), false)
	}
	if len(errs) > 0 || lim.Degraded() {
		t.Fatalf("%d of %d slots not regained within %v of the kill (degraded %v): %v",
			len(errs), redislimit.DefaultMaxInFlight, bound, lim.Degraded(), errs)
	}
	t.Logf("all %d slots regained %.2f s after the SIGKILL (lease TTL %v)", len(tickets), regained.Seconds(), ttl)
}

// Through a Redis outage (stopped a second into the run, started again two seconds
// later) a fleet of 4 processes told its size (WithFleetSize(4)) keeps near the
// Market's 4 requests in flight: each process keeps 1 while it runs on local limits. No
// call fails: a parallel-limit 420 as the fleet turns to local limits and back (the
// requests that took their slot in Redis still running beside the first local ones)
// costs a retry.
func TestFleetRedisOutage(t *testing.T) {
	r := startRedis(t)
	const outageCalls = 1000
	res := runFleet(t, run{limits: fleet.Shared, redisAddr: r.Addr, calls: outageCalls, fleetSize: procs,
		quota: chattest.Quota{Limit: 1_000_000, Window: time.Hour},
		during: func(start time.Time) {
			time.Sleep(time.Until(start.Add(time.Second)))
			r.Stop()
			time.Sleep(2 * time.Second)
			if err := r.Restart(); err != nil {
				t.Error(err)
			}
		}})
	t.Logf("%d calls, %d failed (first: %q); the Market counted %d requests, %d parallel-limit 420s, %d quota 420s; wall %.2f s",
		res.calls, res.errors, res.firstError, res.requests, res.parallel420s, res.quota420s, res.wall.Seconds())
	if res.calls != outageCalls || res.errors != 0 {
		t.Fatalf("%d of %d calls made, %d failed: %s", res.calls, outageCalls, res.errors, res.firstError)
	}
	if res.unexpected > 0 {
		t.Errorf("the Market answered %d requests with neither 200 nor 420", res.unexpected)
	}
	if !res.wasDegraded {
		t.Error("no process ran on local limits: the outage missed the run")
	}
}
