package redislimit_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// roundTrips counts the commands and pipelines a go-redis client sends: one each is
// one round trip.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// heldInRedis counts the leases of business 100 and the reservations of its getChat
// quota that Redis holds under t's prefix.
func heldInRedis(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	return zcard(t, rdb, prefix(t)+"{100}:leases") + zcard(t, rdb, prefix(t)+"{100}:getChat:reserved")
}

// A client calling again at once pays one round trip per call: the end of each call
// (its slot, its reservation and its quota report) goes to Redis with the next Admit,
// ahead of it, so the next Admit already sees it. The last end waits for Flush here
// (the timer is set to an hour, so the count does not depend on timing).
func TestAdmitCarriesTheEndBefore(t *testing.T) {
	noLeaks(t)
	rdb := client(t) // observes
	trips := &roundTrips{}
	counted := client(t)
	counted.AddHook(trips)
	l := limiter(t, counted)
	redislimit.SetReleaseDelay(l, time.Hour)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(time.Hour)
	for range 2 { // loads the scripts
		admit(t, ctx, l, getChat, now).Done(ctx, nil, now, false)
	}
	l.Flush()

	const calls = 20
	trips.n.Store(0)
	for i := range calls {
		ad := admit(t, ctx, l, getChat, now)
		if !ad.OK {
			t.Fatalf("admit %d: %+v", i, ad)
		}
		ad.Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: int64(500 - i), Until: until}, now, false)
	}
	if n := trips.n.Load(); n != calls {
		t.Fatalf("%d calls took %d round trips, want %d", calls, n, calls)
	}
	// The last end is held back: its slot and reservation are still in Redis.
	if n := zcard(t, rdb, prefix(t)+"{100}:leases"); n != 1 {
		t.Fatalf("%d leases before Flush, want the last call's", n)
	}
	// Each end was applied before the next Admit: the window has every report but
	// the last.
	if rl, ok := limiter(t, client(t)).Snapshot(ctx, getChat, now); !ok || rl.Remaining != 500-calls+2 {
		t.Fatalf("window before Flush: %+v %v, want remaining %d", rl, ok, 500-calls+2)
	}
	l.Flush()
	if n := trips.n.Load(); n != calls+1 {
		t.Fatalf("Flush took %d round trips, want 1", n-calls)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d leases and reservations left after Flush", n)
	}
	if rl, ok := limiter(t, client(t)).Snapshot(ctx, getChat, now); !ok || rl.Remaining != 500-calls+1 {
		t.Fatalf("window after Flush: %+v %v", rl, ok)
	}
}

// A report of a spent quota given to Done stops this process's next Admit at once,
// even while the end is still held back.
func TestAdmitSeesItsOwnHeldEnd(t *testing.T) {
	rdb := client(t)
	l := limiter(t, rdb)
	redislimit.SetReleaseDelay(l, time.Hour)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(time.Minute)
	admit(t, ctx, l, getChat, now).Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: 0, Until: until}, now, false)
	ad, err := l.Admit(ctx, getChat, now)
	if err != nil || ad.OK || !ad.Until.Equal(until) {
		t.Fatalf("admit after a 420's report: %+v %v, want refused until %v", ad, err, until)
	}
	if n := zcard(t, rdb, prefix(t)+"{100}:leases"); n != 0 {
		t.Fatalf("%d leases left", n)
	}
}

// With no further call, a held-back end reaches Redis by itself: another process gets
// all four slots back.
func TestHeldEndReachesRedisByItself(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	a, b := limiter(t, client(t)), limiter(t, client(t))
	ctx := context.Background()
	now := time.Now()
	for range 4 {
		admit(t, ctx, a, getChat, now).Done(ctx, nil, now, false)
	}
	eventually(t, 5*time.Second, "the ends to reach Redis", func() bool {
		return heldInRedis(t, rdb) == 0
	})
	var ads []chatclient.Admission
	for range 4 {
		ad, err := b.Admit(ctx, getChat, now)
		if err != nil || !ad.OK {
			t.Fatalf("another process's admit: %+v %v", ad, err)
		}
		ads = append(ads, ad)
	}
	for _, ad := range ads {
		ad.Done(ctx, nil, now, false)
	}
}

// Close sends the ends held back; after Close an end goes to Redis at once.
func TestCloseSendsHeldEnds(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, rdb)
	redislimit.SetReleaseDelay(l, time.Hour)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	admit(t, ctx, l, getChat, now).Done(ctx, &chatclient.RateLimit{Limit: 1000, Remaining: 77, Until: now.Add(time.Hour)}, now, false)
	late := admit(t, ctx, l, getChat, now)
	l.Close()
	if n := zcard(t, rdb, prefix(t)+"{100}:leases"); n != 1 {
		t.Fatalf("%d leases after Close, want the running call's", n)
	}
	if rl, ok := limiter(t, client(t)).Snapshot(ctx, getChat, now); !ok || rl.Remaining != 77 {
		t.Fatalf("window after Close: %+v %v", rl, ok)
	}
	late.Done(ctx, nil, now, false)
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d leases and reservations left after a Done past Close", n)
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
	b.Flush()
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

// After Redis lost its scripts (a restart, SCRIPT FLUSH), a held-back end and the
// Admit it rides with still run, in order.
func TestHeldEndSurvivesScriptFlush(t *testing.T) {
	rdb := client(t)
	l := limiter(t, client(t))
	redislimit.SetReleaseDelay(l, time.Hour)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(time.Minute)
	admit(t, ctx, l, getChat, now).Done(ctx, nil, now, false)
	admit(t, ctx, l, getChat, now).Done(ctx, &chatclient.RateLimit{Limit: 100, Remaining: 0, Until: until}, now, false)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	ad, err := l.Admit(ctx, getChat, now)
	if err != nil || ad.OK || !ad.Until.Equal(until) {
		t.Fatalf("admit after the scripts were flushed: %+v %v, want refused until %v", ad, err, until)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d leases and reservations left", n)
	}
	if l.Degraded() {
		t.Fatal("degraded by a missing script")
	}
}

// When Redis has lost one script and not the other (SCRIPT FLUSH, then another
// process's Admit loaded the admit script again), an Admit that ran ahead of the end it
// carried is undone and run again after it: the end's report (a spent quota) still
// stops it, and nothing is left held.
func TestAdmitNeverOvertakesAnEndRunAgain(t *testing.T) {
	rdb := client(t)
	l := limiter(t, client(t))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	for range 2 { // the second Admit pipelines, which loads the scripts
		admit(t, ctx, l, getChat, now).Done(ctx, nil, now, false)
	}
	l.Flush()
	redislimit.SetReleaseDelay(l, time.Hour)
	until := now.Add(time.Minute)
	admit(t, ctx, l, getChat, now).Done(ctx, &chatclient.RateLimit{Limit: 100, Remaining: 0, Until: until}, now, false)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	other := chatclient.QuotaKey{BusinessID: 200, Operation: chatclient.OpGetChat}
	limiter(t, client(t)).Admit(ctx, other, now) // EVAL: the admit script is back, the done script is not
	ad, err := l.Admit(ctx, getChat, now)
	if err != nil || ad.OK || !ad.Until.Equal(until) {
		t.Fatalf("admit behind an end with a spent quota: %+v %v, want refused until %v", ad, err, until)
	}
	if n := heldInRedis(t, rdb); n != 0 {
		t.Fatalf("%d leases and reservations left", n)
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
