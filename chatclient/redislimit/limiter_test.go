package redislimit_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// Several processes admitting on one Redis never hold more than 4 slots of a business
// at once, and leave nothing behind. (That they reach 4: TestAdmitWaitsForASlot.)
func TestAdmitSharedAcrossProcesses(t *testing.T) {
	noLeaks(t)
	const procs, workers, rounds = 3, 6, 15
	rdb := client(t)
	var inFlight, peak atomic.Int64
	var wg sync.WaitGroup
	now := time.Now()
	report := &chatclient.RateLimit{Limit: 1 << 20, Remaining: 1 << 19, Until: now.Add(time.Hour)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range procs {
		l := limiter(t, client(t))
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					a, err := l.Admit(ctx, getChat, nil, now)
					if err != nil || !a.OK {
						t.Errorf("admit: %+v %v", a, err)
						return
					}
					n := inFlight.Add(1)
					for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
					}
					time.Sleep(time.Millisecond) // the request
					inFlight.Add(-1)
					if kept := l.Done(ctx, a.Ticket, report, now, false); kept != nil {
						t.Error("Done without keepSlot returned a ticket")
					}
				}
			}()
		}
	}
	wg.Wait()
	if p := peak.Load(); p > 4 {
		t.Fatalf("peak in flight %d, want 4 at most", p)
	}
	t.Logf("peak in flight %d", peak.Load())
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d slots, places and waiters left in Redis", n)
	}
}

// A report of a spent quota (a 420: Remaining 0) makes every process's Admit refuse
// until Until, taking nothing; at the reset Admit lets calls through again, and the new
// window is what Snapshot reads everywhere.
func TestAdmitRefusedSpentQuotaTakesNothing(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(10 * time.Second)
	done(a, admit(t, a, getChat, now), &chatclient.RateLimit{Limit: 1000, Remaining: 0, Until: until}, now)
	for _, l := range []*redislimit.Limiter{a, b} {
		ad, err := l.Admit(ctx, getChat, nil, now.Add(time.Second))
		if err != nil || ad.OK || !ad.Until.Equal(until) || ad.Limit != 1000 || ad.Ticket != (chatclient.Ticket{}) {
			t.Fatalf("admit in a spent window: %+v %v, want refused until %v", ad, err, until)
		}
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("refusals left %d slots, places and waiters", n)
	}
	if rl, ok := b.Snapshot(ctx, getChat, now); !ok || rl.Remaining != 0 || rl.Limit != 1000 || !rl.Until.Equal(until) {
		t.Fatalf("snapshot: %+v %v", rl, ok)
	}
	// Another operation and another business are not affected.
	done(b, admit(t, b, chatclient.QuotaKey{BusinessID: 100, Operation: chatclient.OpGetChats}, now), nil, now)
	done(b, admit(t, b, chatclient.QuotaKey{BusinessID: 200, Operation: chatclient.OpGetChat}, now), nil, now)
	// At the reset the window is over: nothing is known of the next one until an answer.
	done(b, admit(t, b, getChat, until), &chatclient.RateLimit{Limit: 1000, Remaining: 999, Until: until.Add(time.Hour)}, until)
	if rl, ok := a.Snapshot(ctx, getChat, until); !ok || rl.Remaining != 999 {
		t.Fatalf("snapshot of the new window: %+v %v", rl, ok)
	}
}

// When places in flight hold what is left of the quota, Admit refuses with a zero Until
// (the client asks again after a pause), taking nothing.
func TestAdmitRefusedHeldByPlaces(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx := context.Background()
	now := time.Now()
	done(a, admit(t, a, getChat, now), &chatclient.RateLimit{Limit: 10, Remaining: 1, Until: now.Add(time.Minute)}, now)
	held := admit(t, a, getChat, now)
	ad, err := b.Admit(ctx, getChat, nil, now)
	if err != nil || ad.OK || !ad.Until.IsZero() {
		t.Fatalf("admit past the remaining: %+v %v", ad, err)
	}
	if n := zcard(t, rdb, prefix(t)+"{100}:leases"); n != 1 {
		t.Fatalf("%d slots taken, want 1", n)
	}
	done(a, held, nil, now)
	done(b, admit(t, b, getChat, now), nil, now)
}

// Done with keepSlot gives back the place, recording the report, and keeps the slot; the
// next Admit with that ticket as held takes only a place, and when the quota refuses it
// gives the slot back.
func TestKeptSlot(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, client(t))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	leases, places := prefix(t)+"{100}:leases", prefix(t)+"{100}:getChat:reserved"
	tk := admit(t, l, getChat, now)
	kept := l.Done(ctx, tk, &chatclient.RateLimit{Limit: 1000, Remaining: 1, Until: now.Add(time.Hour)}, now, true)
	if kept == nil || *kept != (chatclient.Ticket{Key: getChat, Slot: tk.Slot}) {
		t.Fatalf("Done with keepSlot returned %+v, want the slot of %+v", kept, tk)
	}
	if zcard(t, rdb, leases) != 1 || zcard(t, rdb, places) != 0 {
		t.Fatal("after Done with keepSlot: want the slot kept and the place given back")
	}
	a, err := l.Admit(ctx, getChat, kept, now)
	if err != nil || !a.OK || a.Ticket.Slot != tk.Slot || a.Ticket.Place == "" || a.Ticket.Place == tk.Place {
		t.Fatalf("admit on the kept slot: %+v %v", a, err)
	}
	if zcard(t, rdb, leases) != 1 || zcard(t, rdb, places) != 1 {
		t.Fatal("admit on the kept slot took another slot, or no place")
	}
	kept = l.Done(ctx, a.Ticket, &chatclient.RateLimit{Limit: 1000, Remaining: 0, Until: now.Add(time.Hour)}, now, true)
	if a, err := l.Admit(ctx, getChat, kept, now); err != nil || a.OK {
		t.Fatalf("admit on the kept slot in a spent window: %+v %v", a, err)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("the refusal left %d slots, places and waiters: the kept slot is not given back", n)
	}
}

// A call with a free slot costs two round trips, Admit and Done, and what Done recorded
// is in force when it returns: the next Admit already sees a spent quota.
func TestTwoRoundTripsPerCall(t *testing.T) {
	noLeaks(t)
	trips := &roundTrips{}
	counted := client(t)
	counted.AddHook(trips)
	l := limiter(t, counted)
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(time.Hour)
	done(l, admit(t, l, getChat, now), nil, now) // loads the script
	const calls = 20
	trips.n.Store(0)
	for i := range calls {
		done(l, admit(t, l, getChat, now), &chatclient.RateLimit{Limit: 1000, Remaining: int64(500 - i), Until: until}, now)
	}
	if n := trips.n.Load(); n != 2*calls {
		t.Fatalf("%d calls took %d round trips, want %d", calls, n, 2*calls)
	}
	t.Logf("%d calls, %d round trips", calls, trips.n.Load())
	if n := heldInRedis(t, client(t)); n != 0 {
		t.Fatalf("%d slots, places and waiters left", n)
	}
	if rl, ok := limiter(t, client(t)).Snapshot(context.Background(), getChat, now); !ok || rl.Remaining != 500-calls+1 {
		t.Fatalf("window: %+v %v, want remaining %d", rl, ok, 500-calls+1)
	}
	done(l, admit(t, l, getChat, now), &chatclient.RateLimit{Limit: 1000, Remaining: 0, Until: until}, now)
	if a, err := l.Admit(context.Background(), getChat, nil, now); err != nil || a.OK || !a.Until.Equal(until) {
		t.Fatalf("admit after a 420's report: %+v %v, want refused until %v", a, err, until)
	}
}

// Done called once the caller's context has ended still gives everything back and
// records the report, in the background.
func TestDoneAfterDeadline(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, client(t))
	now := time.Now()
	tk := admit(t, l, getChat, now)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.Done(ctx, tk, &chatclient.RateLimit{Limit: 1000, Remaining: 10, Until: now.Add(time.Hour)}, now, false)
	eventually(t, 5*time.Second, "the end to reach Redis", func() bool { return heldInRedis(t, rdb) == 0 })
	if rl, ok := l.Snapshot(context.Background(), getChat, now); !ok || rl.Remaining != 10 {
		t.Fatalf("window: %+v %v", rl, ok)
	}
}

// A process that dies holding places holds them no longer than the reservation TTL.
func TestPlaceExpires(t *testing.T) {
	noLeaks(t)
	const ttl = 300 * time.Millisecond
	live := limiter(t, client(t))
	now := time.Now()
	done(live, admit(t, live, getChat, now), &chatclient.RateLimit{Limit: 10, Remaining: 1, Until: now.Add(time.Minute)}, now)
	dead := limiter(t, client(t), redislimit.WithReservationTTL(ttl))
	admit(t, dead, getChat, now)
	dead.Close() // dies holding its slot and place
	eventually(t, 10*ttl, "the dead process's place to expire", func() bool {
		a, err := live.Admit(context.Background(), getChat, nil, now)
		if a.OK {
			done(live, a.Ticket, nil, now)
		}
		return err == nil && a.OK
	})
}

// Redis's quotas follow chatclient.NewLocalLimits's rules: a random sequence of
// admissions and their ends with reports (out of order, newer and older windows, unknown
// fields) gets the same answers from both. (The limit an admitted call carries after its
// window ended may differ: the local one forgets it sooner.)
func TestQuotaMatchesLocal(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	rl := limiter(t, client(t), redislimit.WithMaxInFlight(0))
	local := chatclient.NewLocalLimits(0)
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Now().Truncate(time.Second)
	now := base
	keys := []chatclient.QuotaKey{getChat, {BusinessID: 100, Operation: chatclient.OpGetChats}}
	type pair struct{ redis, local chatclient.Ticket }
	held := map[chatclient.QuotaKey][]pair{}
	var spent, inFlight int // refusals of both kinds seen
	for i := range 2000 {
		k := keys[rng.IntN(len(keys))]
		now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
		switch op := rng.IntN(10); {
		case op < 5:
			want, _ := local.Admit(ctx, k, nil, now)
			got, err := rl.Admit(ctx, k, nil, now)
			if err != nil || got.OK != want.OK || (!got.OK && got.Limit != want.Limit) || !got.Until.Equal(want.Until) {
				t.Fatalf("step %d: Admit %+v, %v; local %+v", i, got, err, want)
			}
			switch {
			case got.OK:
				held[k] = append(held[k], pair{got.Ticket, want.Ticket})
			case got.Until.IsZero():
				inFlight++
			default:
				spent++
			}
		case len(held[k]) > 0:
			var report *chatclient.RateLimit
			if rng.IntN(4) > 0 {
				report = &chatclient.RateLimit{
					Limit:     []int64{-1, 5, 10}[rng.IntN(3)],
					Remaining: int64(rng.IntN(6)) - 1,
					Until:     base.Add(time.Duration(rng.IntN(8)) * 10 * time.Second),
				}
			}
			j := rng.IntN(len(held[k]))
			p := held[k][j]
			held[k] = append(held[k][:j], held[k][j+1:]...)
			local.Done(ctx, p.local, report, now, false)
			rl.Done(ctx, p.redis, report, now, false)
		}
		want, wok := local.Snapshot(ctx, k, now)
		got, gok := rl.Snapshot(ctx, k, now)
		if gok != wok || (wok && (got.Limit != want.Limit || got.Remaining != want.Remaining || !got.Until.Equal(want.Until))) {
			t.Fatalf("step %d: Snapshot %+v %v; local %+v %v", i, got, gok, want, wok)
		}
	}
	if spent == 0 || inFlight == 0 {
		t.Fatalf("the sequence refused %d times for a spent window, %d for places in flight", spent, inFlight)
	}
}
