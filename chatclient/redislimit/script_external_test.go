package redislimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// After Redis lost the script (a restart, SCRIPT FLUSH) Admit and Done still run in
// Redis: the script is sent again.
func TestSurvivesScriptFlush(t *testing.T) {
	noLeaks(t)
	rdb := client(t)
	l := limiter(t, client(t))
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	tk := admit(t, l, getChat, now)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	done(l, tk, &chatclient.RateLimit{Limit: 100, Remaining: 0, Until: now.Add(time.Minute)}, now)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if a, err := l.Admit(ctx, getChat, nil, now); err != nil || a.OK || a.Until.IsZero() {
		t.Fatalf("admit after the script was flushed: %+v %v, want refused by the spent quota", a, err)
	}
	if n := heldInRedis(t, rdb); n != 0 || l.Degraded() {
		t.Fatalf("%d slots, places and waiters left; degraded %v", n, l.Degraded())
	}
}
