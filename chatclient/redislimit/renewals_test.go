package redislimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// A request that runs for several lease TTLs keeps its slot, and so does one kept
// through a backoff: they are renewed until given back.
func TestRenewalKeepsLongSlot(t *testing.T) {
	noLeaks(t)
	const ttl = 500 * time.Millisecond // renewed every 167 ms: a stall of 300 ms is survived
	rdb := client(t)
	holder := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	other := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	ctx := context.Background()
	now := time.Now()
	var held []chatclient.Ticket
	for range 4 {
		held = append(held, admit(t, holder, getChat, now))
	}
	held[0] = *holder.Done(ctx, held[0], nil, now, true) // kept through a backoff
	short, cancel := context.WithTimeout(ctx, 3*ttl)
	defer cancel()
	if a, err := other.Admit(short, getChat, nil, now); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("admitted beside 4 live requests: %+v %v", a, err)
	}
	if n := zcard(t, rdb, prefix(t)+"{100}:leases"); n != 4 {
		t.Fatalf("%d slots after 3 TTLs, want 4", n)
	}
	for _, tk := range held {
		done(holder, tk, nil, now)
	}
	done(other, admit(t, other, getChat, now), nil, now)
}

// A process that dies holding slots (its Limiter stops without giving them back) gives
// them back within the lease TTL.
func TestDeadProcessSlotsExpire(t *testing.T) {
	noLeaks(t)
	const ttl = 300 * time.Millisecond
	dead := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	now := time.Now()
	for range 4 {
		admit(t, dead, getChat, now)
	}
	dead.Close() // "killed": no ends, no more renewals
	killed := time.Now()
	live := limiter(t, client(t), redislimit.WithLeaseTTL(ttl))
	ctx, cancel := context.WithTimeout(context.Background(), 20*ttl)
	defer cancel()
	a, err := live.Admit(ctx, getChat, nil, now)
	if err != nil || !a.OK {
		t.Fatalf("no slot within %v after the holder died: %+v %v", 20*ttl, a, err)
	}
	t.Logf("a dead process's slot came back %v after it died (TTL %v)", time.Since(killed).Round(time.Millisecond), ttl)
	done(live, a.Ticket, nil, now)
}
