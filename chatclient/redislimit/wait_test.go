package redislimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// With every slot taken Admit waits, taking nothing: until ctx ends (leaving nothing
// behind), or until a slot is given back, in this process or another.
func TestAdmitWaitsForASlot(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx := context.Background()
	now := time.Now()
	var held []chatclient.Ticket
	for i := range 4 {
		held = append(held, admit(t, []*redislimit.Limiter{a, b}[i%2], getChat, now))
	}
	for _, l := range []*redislimit.Limiter{a, b} {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		ad, err := l.Admit(short, getChat, nil, now)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || ad.OK {
			t.Fatalf("fifth admit: %+v %v, want DeadlineExceeded", ad, err)
		}
	}
	eventually(t, 5*time.Second, "the callers that gave up to leave the queue", func() bool {
		return zcard(t, rdb, prefix(t)+"{100}:queue") == 0
	})
	if n := zcard(t, rdb, prefix(t)+"{100}:getChat:reserved"); n != 4 {
		t.Fatalf("%d places, want 4: a waiting Admit took one", n)
	}
	got := make(chan chatclient.Admission, 1)
	go func() {
		ad, err := a.Admit(ctx, getChat, nil, now)
		if err != nil {
			t.Error(err)
		}
		got <- ad
	}()
	eventually(t, 5*time.Second, "the fifth caller to wait in the queue", func() bool {
		return zcard(t, rdb, prefix(t)+"{100}:queue") == 1
	})
	done(b, held[1], nil, now) // given back in another process
	ad := <-got
	if !ad.OK {
		t.Fatalf("admit after a slot was given back: %+v", ad)
	}
	held[1] = ad.Ticket
	for i, tk := range held {
		done([]*redislimit.Limiter{a, b}[i%2], tk, nil, now)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d slots, places and waiters left", n)
	}
}

// Callers waiting for a slot are served in order of arrival, whatever their process: a
// slot given back in one process goes to the first waiter although it waits in another.
func TestWaitersServedInArrivalOrder(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	now := time.Now()
	queue := prefix(t) + "{100}:queue"
	var held []chatclient.Ticket
	for range 4 {
		held = append(held, admit(t, a, getChat, now))
	}
	// Six waiters, b's and a's in turn, each in the queue before the next comes.
	const waiters = 6
	served := make(chan int, waiters)
	tickets := make([]chatclient.Ticket, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		l := []*redislimit.Limiter{b, a}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			ad, err := l.Admit(ctx, getChat, nil, now)
			if err != nil || !ad.OK {
				t.Errorf("waiter %d: %+v %v", i, ad, err)
				return
			}
			tickets[i] = ad.Ticket
			served <- i
		}()
		eventually(t, 5*time.Second, "a waiter to join the queue", func() bool { return zcard(t, rdb, queue) == int64(i+1) })
	}
	// Free one slot at a time: a's four, then those of the first waiters served.
	for i := range waiters {
		if i < len(held) {
			done(a, held[i], nil, now)
		} else {
			done([]*redislimit.Limiter{b, a}[(i-len(held))%2], tickets[i-len(held)], nil, now)
		}
		if got := <-served; got != i {
			t.Fatalf("slot %d went to waiter %d, want %d (the first in the queue)", i+1, got, i)
		}
	}
	wg.Wait()
	for i := waiters - len(held); i < waiters; i++ {
		done([]*redislimit.Limiter{b, a}[i%2], tickets[i], nil, now)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d slots, places and waiters left", n)
	}
}

// A process that frees and retakes slots quickly does not starve another: while 8
// callers of one process keep the business busy, every call of another process is
// served.
func TestBusyProcessDoesNotStarveAnother(t *testing.T) {
	noLeaks(t)
	busy, quiet := limiter(t, client(t)), limiter(t, client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	now := time.Now()
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
				ad, err := busy.Admit(ctx, getChat, nil, now)
				if err != nil || !ad.OK {
					t.Errorf("busy admit: %+v %v", ad, err)
					return
				}
				grants.Add(1)
				time.Sleep(time.Millisecond) // the request
				done(busy, ad.Ticket, nil, now)
			}
		}()
	}
	eventually(t, 10*time.Second, "the busy process to get going", func() bool { return grants.Load() > 20 })
	worst := int64(0)
	for range rounds {
		before := grants.Load()
		tk := admit(t, quiet, getChat, now)
		worst = max(worst, grants.Load()-before)
		done(quiet, tk, nil, now)
	}
	close(stop)
	wg.Wait()
	// Every call of the quiet process was served while the busy one kept asking (the
	// order itself is TestWaitersServedInArrivalOrder's). How many grants the busy
	// process counted meanwhile is only logged: a count read around a call that a busy
	// machine may pause depends on the scheduler, not on the queue.
	t.Logf("the busy process took at most %d slots (%d in all) while a call of the quiet one waited", worst, grants.Load())
}

// A waiter that stops asking (its process died) leaves the queue: the slot it was first
// in line for goes to the next waiter.
func TestDeadWaiterLeavesQueue(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, client(t))
	ctx := context.Background()
	now := time.Now()
	var held []chatclient.Ticket
	for range 3 { // one slot free
		held = append(held, admit(t, l, getChat, now))
	}
	// A waiter first in the queue whose process will not ask again: it stays 300 ms.
	rnow, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	p := prefix(t) + "{100}:"
	rdb.ZAdd(ctx, p+"queue", redis.Z{Score: 0, Member: "dead"})
	rdb.ZAdd(ctx, p+"seen", redis.Z{Score: float64(rnow.Add(300 * time.Millisecond).UnixMilli()), Member: "dead"})
	tk := admit(t, l, getChat, now) // waits until the dead waiter has left
	if n := zcard(t, rdb, p+"queue"); n != 0 {
		t.Fatalf("%d waiters left in the queue", n)
	}
	for _, tk := range append(held, tk) {
		done(l, tk, nil, now)
	}
}

// Callers that give up while they wait, or before, leave nothing behind in Redis.
func TestAdmitCanceledLeavesNothing(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, rdb)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now := time.Now()
	if _, err := l.Admit(ctx, getChat, nil, now); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%3)*time.Millisecond)
			defer cancel()
			if ad, err := l.Admit(ctx, getChat, nil, now); err == nil && ad.OK {
				time.Sleep(time.Millisecond)
				l.Done(ctx, ad.Ticket, nil, now, false)
			}
		}()
	}
	wg.Wait()
	eventually(t, 5*time.Second, "nothing left in Redis", func() bool { return heldInRedis(t, rdb) == 0 })
}

// A process whose estimate of the Market's clock lags is not held past a reset that
// another process has seen: a refusal in a spent window that resets soon carries a Wake
// that closes shortly, and once another process has recorded the new window the lagging
// one is admitted although its clock is still before the reset. A refusal a minute
// before the reset gets a Wake that does not close long before it; one an hour before,
// none.
func TestFollowsTheFirstProcessToSeeTheReset(t *testing.T) {
	noLeaks(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(500 * time.Millisecond)
	done(a, admit(t, a, getChat, now), &chatclient.RateLimit{Limit: 100, Remaining: 0, Until: until}, now)
	ad, err := a.Admit(ctx, getChat, nil, now)
	if err != nil || ad.OK || !ad.Until.Equal(until) || ad.Wake == nil {
		t.Fatalf("admit in the spent window: %+v %v, want refused with a Wake", ad, err)
	}
	// b's clock has passed the reset; its answer records the new window.
	done(b, admit(t, b, getChat, until), &chatclient.RateLimit{Limit: 100, Remaining: 99, Until: until.Add(time.Second)}, until)
	<-ad.Wake
	done(a, admit(t, a, getChat, now), nil, now) // a's clock is still before the reset

	for i, tc := range []struct {
		before time.Duration
		wake   bool
	}{{time.Minute, true}, {time.Hour, false}} {
		reset, key := now.Add(tc.before), chatclient.QuotaKey{BusinessID: int64(300 + i), Operation: chatclient.OpGetChat}
		done(a, admit(t, a, key, now), &chatclient.RateLimit{Limit: 100, Remaining: 0, Until: reset}, now)
		ad, err := a.Admit(ctx, key, nil, now)
		if err != nil || ad.OK || !ad.Until.Equal(reset) || (ad.Wake != nil) != tc.wake {
			t.Fatalf("admit %v before the reset: %+v %v, want a Wake: %v", tc.before, ad, err, tc.wake)
		}
		select {
		case <-ad.Wake:
			t.Fatalf("the Wake of a refusal %v before the reset closed at once", tc.before)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
