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
	eventually(t, 5*time.Second, "nothing left in Redis", func() bool { return heldInRedis(t, rdb) == 0 })
}

// Callers waiting for a slot are served in order of arrival, whatever their process: a
// slot released in one process goes to the first waiter although it waits in another,
// and the releasing process's own waiters are woken first.
func TestWaitersServedInArrivalOrder(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	queue := prefix(t) + "{100}:queue"
	var held []func()
	for range 4 {
		r, err := a.Acquire(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	// Six waiters, b's and a's in turn, each in the queue before the next comes.
	const waiters = 6
	served := make(chan int, waiters)
	releases := make([]func(), waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		l := a
		if i%2 == 0 {
			l = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := l.Acquire(ctx, 100)
			if err != nil {
				t.Error(err)
				return
			}
			releases[i] = r
			served <- i
		}()
		eventually(t, 5*time.Second, "a waiter to join the queue", func() bool { return zcard(t, rdb, queue) == int64(i+1) })
	}
	// Free one slot at a time: a's four, then those of the first waiters served.
	for i := range waiters {
		if i < len(held) {
			held[i]()
		} else {
			releases[i-len(held)]()
		}
		select {
		case got := <-served:
			if got != i {
				t.Fatalf("slot %d went to waiter %d, want %d (the first in the queue)", i+1, got, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("slot %d reached no waiter", i+1)
		}
	}
	wg.Wait()
	for _, r := range releases[waiters-len(held):] {
		r()
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d leases and waiters left", n)
	}
}

// A process that frees and retakes slots quickly does not starve another: while 8
// callers of one process keep the business busy, each call of another process is
// served after at most the callers that were ahead of it (8), not after whoever its
// process wakes first.
func TestBusyProcessDoesNotStarveAnother(t *testing.T) {
	noLeaks(t)
	busy, quiet := limiter(t, client(t)), limiter(t, client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const workers, rounds = 8, 10
	var grants atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := busy.Acquire(ctx, 100)
				if err != nil {
					t.Error(err)
					return
				}
				grants.Add(1)
				time.Sleep(time.Millisecond) // the request
				r()
			}
		}()
	}
	eventually(t, 5*time.Second, "the busy process to get going", func() bool { return grants.Load() > 20 })
	worst := int64(0)
	for range rounds {
		before := grants.Load()
		r, err := quiet.Acquire(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		worst = max(worst, grants.Load()-before)
		r()
	}
	close(stop)
	wg.Wait()
	// 8 callers ahead at most, and the 4 that held slots when it came (their counts may
	// land after it read the count) .
	if worst > workers+4 {
		t.Fatalf("the busy process took %d slots while a call of the quiet one waited", worst)
	}
	t.Logf("the busy process took at most %d slots (%d in all) while a call of the quiet one waited", worst, grants.Load())
}

// A waiter that stops asking (its process died) leaves the queue: the slot it was
// promised goes to the next waiter.
func TestDeadWaiterLeavesQueue(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var held []func()
	for range 3 { // one slot free
		r, err := l.Acquire(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	// A waiter first in the queue, whose process will not ask again: it stays for 300 ms.
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	p := prefix(t) + "{100}:"
	rdb.ZAdd(ctx, p+"queue", redis.Z{Score: 0, Member: "dead"})
	rdb.ZAdd(ctx, p+"seen", redis.Z{Score: float64(now.Add(300 * time.Millisecond).UnixMilli()), Member: "dead"})
	r, err := l.Acquire(ctx, 100)
	if err != nil {
		t.Fatalf("the slot promised to a dead waiter never came: %v", err)
	}
	if n := zcard(t, rdb, p+"queue"); n != 0 {
		t.Fatalf("%d waiters left in the queue", n)
	}
	r()
	for _, r := range held {
		r()
	}
}
