package redislimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// Several processes (Limiters with their own Redis clients) on one Redis never hold
// more than 4 leases of a business at once, and do reach 4.
func TestLeasesSharedAcrossProcesses(t *testing.T) {
	noLeaks(t)
	const procs, workers, rounds = 3, 6, 15
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, procs*workers)
	for p := 0; p < procs; p++ {
		l := limiter(t, client(t))
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					release, err := l.Acquire(ctx, 100)
					cancel()
					if err != nil {
						errs <- err
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
					release()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if p := peak.Load(); p != 4 {
		t.Fatalf("peak in flight %d, want 4", p)
	}
	n, err := client(t).ZCard(context.Background(), prefix(t)+"{100}:leases").Result()
	if err != nil || n != 0 {
		t.Fatalf("leases left in Redis: %d, %v", n, err)
	}
}

// Other businesses are not held back by a full one.
func TestLeasesPerBusiness(t *testing.T) {
	noLeaks(t)
	l := limiter(t, client(t))
	ctx := context.Background()
	var releases []func()
	for range 4 {
		r, err := l.Acquire(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	r, err := l.Acquire(ctx, 200)
	if err != nil {
		t.Fatal(err)
	}
	r()
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(short, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fifth lease: %v, want DeadlineExceeded", err)
	}
	// A waiter gets the slot as soon as one is released.
	done := make(chan error, 1)
	go func() {
		r, err := l.Acquire(ctx, 100)
		if err == nil {
			r()
		}
		done <- err
	}()
	releases[0]()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the released slot")
	}
	for _, r := range releases[1:] {
		r()
	}
}

// A process that dies holding leases (its Limiter stops without releasing) gives
// them back within the lease TTL.
func TestExpiredLeaseFrees(t *testing.T) {
	noLeaks(t)
	const ttl = 300 * time.Millisecond
	dead := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	for range 4 {
		if _, err := dead.Acquire(context.Background(), 100); err != nil {
			t.Fatal(err)
		}
	}
	dead.Close() // "killed": no release, no more renewals
	start := time.Now()
	live := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	ctx, cancel := context.WithTimeout(context.Background(), 4*ttl)
	defer cancel()
	release, err := live.Acquire(ctx, 100)
	if err != nil {
		t.Fatalf("no lease within %v after the holder died: %v", 4*ttl, err)
	}
	release()
	if took := time.Since(start); took > ttl+300*time.Millisecond {
		t.Fatalf("the dead process's lease came back after %v, TTL %v", took, ttl)
	}
}

// A request that runs for several TTLs keeps its lease: it is renewed in the
// background, and the renewal stops with the release.
func TestRenewalKeepsLongLease(t *testing.T) {
	noLeaks(t)
	const ttl = 300 * time.Millisecond
	holder := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	other := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	var releases []func()
	for range 4 {
		r, err := holder.Acquire(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	// For 4 TTLs the other process finds every slot held.
	ctx, cancel := context.WithTimeout(context.Background(), 4*ttl)
	defer cancel()
	if _, err := other.Acquire(ctx, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquired a slot of a live request: %v", err)
	}
	for _, r := range releases {
		r()
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	r, err := other.Acquire(ctx2, 100)
	if err != nil {
		t.Fatal(err)
	}
	r()
}

// A context that ends while waiting leaves nothing behind in Redis.
func TestAcquireCanceledLeavesNothing(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, rdb)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Acquire(ctx, 100); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+len(t.Name())%3)*time.Millisecond)
			defer cancel()
			if r, err := l.Acquire(ctx, 100); err == nil {
				time.Sleep(time.Millisecond)
				r()
			}
		}()
	}
	wg.Wait()
	n, err := rdb.ZCard(context.Background(), prefix(t)+"{100}:leases").Result()
	if err != nil || n != 0 {
		t.Fatalf("leases left in Redis: %d, %v", n, err)
	}
}

func TestNewValidates(t *testing.T) {
	noLeaks(t)
	if _, err := redislimit.New(nil); err == nil {
		t.Error("nil client accepted")
	}
	c := redis.NewClient(&redis.Options{Addr: shared.Addr})
	defer c.Close()
	if _, err := redislimit.New(c); err == nil {
		t.Error("a client without ContextTimeoutEnabled accepted")
	}
	for _, o := range []redislimit.Option{
		redislimit.WithMaxInFlight(-1), redislimit.WithLeaseTTL(0), redislimit.WithOpTimeout(0),
		redislimit.WithProbeInterval(0), redislimit.WithReservationTTL(0), redislimit.WithLogger(nil),
	} {
		if _, err := redislimit.New(client(t), o); err == nil {
			t.Error("a bad option accepted")
		}
	}
	// No bound: Acquire touches nothing.
	l := limiter(t, client(t), redislimit.WithMaxInFlight(0))
	r, err := l.Acquire(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	r()
}
