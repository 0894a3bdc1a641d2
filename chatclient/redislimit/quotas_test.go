package redislimit_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

var getChat = chatclient.QuotaKey{BusinessID: 100, Operation: chatclient.OpGetChat}

// One process's report of a spent quota (a 420: Remaining 0) makes another's Reserve
// refuse until the window's Until, and a new window lets it through again.
func TestQuotaSpentSharedUntilReset(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	a, b := limiter(t, client(t)), limiter(t, client(t))
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(10 * time.Second)

	r, err := a.Reserve(ctx, getChat, now)
	if err != nil || !r.OK {
		t.Fatalf("first reserve: %+v %v", r, err)
	}
	a.Release(ctx, getChat, &chatclient.RateLimit{Limit: 1000, Remaining: 0, Until: until}, now)

	r, err = b.Reserve(ctx, getChat, now.Add(time.Second))
	if err != nil || r.OK || !r.Until.Equal(until) || r.Limit != 1000 {
		t.Fatalf("reserve in a spent window: %+v %v, want refused until %v", r, err, until)
	}
	rl, ok := b.Snapshot(ctx, getChat, now)
	if !ok || rl.Remaining != 0 || rl.Limit != 1000 || !rl.Until.Equal(until) {
		t.Fatalf("snapshot: %+v %v", rl, ok)
	}
	// Another operation and another business are not affected.
	other := chatclient.QuotaKey{BusinessID: 100, Operation: chatclient.OpGetChats}
	if r, _ := b.Reserve(ctx, other, now); !r.OK {
		t.Fatalf("getChats refused: %+v", r)
	}
	b.Release(ctx, other, nil, now)
	// At the reset the window is over: nothing is known of the next one.
	r, err = b.Reserve(ctx, getChat, until)
	if err != nil || !r.OK {
		t.Fatalf("reserve after the reset: %+v %v", r, err)
	}
	b.Release(ctx, getChat, &chatclient.RateLimit{Limit: 1000, Remaining: 999, Until: until.Add(time.Hour)}, until)
	if rl, ok := a.Snapshot(ctx, getChat, until); !ok || rl.Remaining != 999 {
		t.Fatalf("snapshot of the new window: %+v %v", rl, ok)
	}
}

// Reservations in flight in one process hold the rest of the quota for the others.
func TestQuotaHeldByReservationsInFlight(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	a, b := limiter(t, client(t)), limiter(t, client(t))
	now := time.Now()
	if r, _ := a.Reserve(ctx, getChat, now); !r.OK {
		t.Fatal("first reserve refused")
	}
	a.Release(ctx, getChat, &chatclient.RateLimit{Limit: 10, Remaining: 2, Until: now.Add(time.Minute)}, now)
	for range 2 {
		if r, _ := a.Reserve(ctx, getChat, now); !r.OK {
			t.Fatal("reserve within the remaining refused")
		}
	}
	r, _ := b.Reserve(ctx, getChat, now)
	if r.OK || !r.Until.IsZero() || r.Released != nil {
		t.Fatalf("reserve past the remaining: %+v, want refused with zero Until", r)
	}
	a.Release(ctx, getChat, nil, now)
	if r, _ := b.Reserve(ctx, getChat, now); !r.OK {
		t.Fatalf("reserve after a release: %+v", r)
	}
}

// A process that dies holding reservations holds them no longer than the reservation
// TTL.
func TestQuotaReservationExpires(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	dead := limiter(t, client(t))
	live := limiter(t, client(t))
	now := time.Now()
	dead.Reserve(ctx, getChat, now)
	dead.Release(ctx, getChat, &chatclient.RateLimit{Limit: 10, Remaining: 1, Until: now.Add(time.Minute)}, now)
	d2 := limiter(t, client(t), redislimit.WithReservationTTL(ttl))
	if r, _ := d2.Reserve(ctx, getChat, now); !r.OK {
		t.Fatal("reserve refused")
	}
	d2.Close() // dies holding it
	start := time.Now()
	eventually(t, 4*ttl, "the dead process's reservation to expire", func() bool {
		r, _ := live.Reserve(ctx, getChat, now)
		return r.OK
	})
	if took := time.Since(start); took > ttl+300*time.Millisecond {
		t.Fatalf("expired after %v, TTL %v", took, ttl)
	}
}

// The Redis quotas follow chatclient.NewLocalQuotas's rules: a random sequence of
// reservations and their releases with reports (out of order, newer and older windows,
// unknown fields) gets the same answers from both. (The limit a granted reservation
// carries after its window ended may differ: the local one forgets it sooner.)
func TestQuotaMatchesLocal(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	rl := limiter(t, client(t))
	local := chatclient.NewLocalQuotas()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Now().Truncate(time.Second)
	now := base
	keys := []chatclient.QuotaKey{getChat, {BusinessID: 100, Operation: chatclient.OpGetChats}}
	held := map[chatclient.QuotaKey]int{}
	var spent, inFlight int // refusals of both kinds seen
	for i := range 2000 {
		k := keys[rng.IntN(len(keys))]
		now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
		switch op := rng.IntN(10); {
		case op < 5:
			want, _ := local.Reserve(ctx, k, now)
			got, err := rl.Reserve(ctx, k, now)
			if err != nil || got.OK != want.OK || (!got.OK && got.Limit != want.Limit) || !got.Until.Equal(want.Until) {
				t.Fatalf("step %d: Reserve %+v, %v; local %+v", i, got, err, want)
			}
			switch {
			case got.OK:
				held[k]++
			case got.Until.IsZero():
				inFlight++
			default:
				spent++
			}
		case held[k] > 0:
			var report *chatclient.RateLimit
			if rng.IntN(4) > 0 {
				r := chatclient.RateLimit{
					Limit:     []int64{-1, 5, 10}[rng.IntN(3)],
					Remaining: int64(rng.IntN(6)) - 1,
					Until:     base.Add(time.Duration(rng.IntN(8)) * 10 * time.Second),
				}
				report = &r
			}
			held[k]--
			local.Release(ctx, k, report, now)
			rl.Release(ctx, k, report, now)
		}
		want, wok := local.Snapshot(ctx, k, now)
		got, gok := rl.Snapshot(ctx, k, now)
		if gok != wok || (wok && (got.Limit != want.Limit || got.Remaining != want.Remaining || !got.Until.Equal(want.Until))) {
			t.Fatalf("step %d: Snapshot %+v %v; local %+v %v", i, got, gok, want, wok)
		}
	}
	if spent == 0 || inFlight == 0 {
		t.Fatalf("the sequence refused %d times for a spent window, %d for reservations in flight", spent, inFlight)
	}
}

// A process whose estimate of the Market's clock lags is not held past a reset that
// another process has seen: a refusal in a spent window that resets soon carries a
// Released that closes shortly, and once another process has recorded the new window
// the lagging one is admitted although its clock is still before the reset. A reset
// far away gives no channel.
func TestSpentWindowWakesWhenAnotherProcessSeesTheReset(t *testing.T) {
	noLeaks(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(500 * time.Millisecond)
	admit(t, ctx, a, getChat, now).Done(ctx, &chatclient.RateLimit{Limit: 100, Remaining: 0, Until: until}, now, false)
	ad, err := a.Admit(ctx, getChat, now)
	if err != nil || ad.OK || !ad.Until.Equal(until) || ad.Released == nil {
		t.Fatalf("admit in the spent window: %+v %v, want refused with a Released", ad, err)
	}
	// b's clock has passed the reset; its answer records the new window.
	next := admit(t, ctx, b, getChat, until)
	if !next.OK {
		t.Fatalf("admit after the reset: %+v", next)
	}
	next.Done(ctx, &chatclient.RateLimit{Limit: 100, Remaining: 99, Until: until.Add(time.Second)}, until, false)
	select {
	case <-ad.Released:
	case <-time.After(5 * time.Second):
		t.Fatal("Released not closed")
	}
	ad = admit(t, ctx, a, getChat, now) // a's clock is still before the reset
	if !ad.OK {
		t.Fatalf("admit once another process recorded the new window: %+v", ad)
	}
	ad.Done(ctx, nil, now, false)

	far := now.Add(time.Hour)
	admit(t, ctx, a, getChat, now).Done(ctx, &chatclient.RateLimit{Limit: 100, Remaining: 0, Until: far}, now, false)
	ad, err = a.Admit(ctx, getChat, now)
	if err != nil || ad.OK || !ad.Until.Equal(far) || ad.Released != nil {
		t.Fatalf("admit an hour before the reset: %+v %v, want refused with no Released", ad, err)
	}
}

// The waiters for one far reset share one channel, which does not close long before
// the reset; near the reset a refusal gets the short shared poll.
func TestResetWakeIsSharedAndTimely(t *testing.T) {
	a := limiter(t, client(t))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	far := now.Add(time.Minute)
	admit(t, ctx, a, getChat, now).Done(ctx, &chatclient.RateLimit{Limit: 100, Remaining: 0, Until: far}, now, false)
	first, _ := a.Admit(ctx, getChat, now)
	second, _ := a.Admit(ctx, getChat, now)
	if first.OK || first.Released == nil || first.Released != second.Released {
		t.Fatalf("two refusals for one reset: %+v, %+v; want one shared Released", first, second)
	}
	select {
	case <-first.Released:
		t.Fatal("Released closed a minute before the reset")
	case <-time.After(50 * time.Millisecond):
	}
	near, _ := a.Admit(ctx, getChat, far.Add(-time.Second)) // within the lead
	if near.OK || near.Released == nil {
		t.Fatalf("a refusal a second before the reset: %+v", near)
	}
	select {
	case <-near.Released:
	case <-time.After(5 * time.Second):
		t.Fatal("the short poll did not end")
	}
}
