package inbox

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestPaceSpendsAShareOfTheHourlyQuota(t *testing.T) {
	// 2,000 chats are 100 pages; a fifth of 10,000 an hour is 2,000 requests: 20
	// sweeps an hour.
	assert.Equal(t, 3*time.Minute, pace(0.2, 100, 10_000))
	assert.Equal(t, 36*time.Second, pace(1, 100, 10_000))
	assert.Equal(t, 15*time.Minute, pace(0.2, 100, 2_000), "a smaller live quota, longer intervals")
	assert.Zero(t, pace(0.2, 0, 10_000), "nothing spent, no wait")
	assert.Zero(t, pace(0.2, 10, 0))
}

func TestIntervalFollowsTheLiveQuota(t *testing.T) {
	var chats []chattest.Chat
	for i := 1; i <= 45; i++ {
		chats = append(chats, chattest.Chat{ID: int64(i)})
	}
	srv := chattest.Start(t, chattest.WithChat(7, chats...), chattest.WithQuota("getChats", chattest.Quota{Limit: 100, Window: time.Hour}))
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
	require.NoError(t, err)
	ib, err := New(client, 7, NewMemoryStore(), func(context.Context, Event) error { return nil })
	require.NoError(t, err)
	ctx := context.Background()
	assert.Equal(t, DefaultMinInterval, ib.interval(ctx), "before any sweep: the minimum")
	require.NoError(t, ib.Sweep(ctx))
	// 45 chats are 3 pages; a fifth of the live quota of 100 is 20 an hour.
	assert.Equal(t, 9*time.Minute, ib.interval(ctx))
	// Others spend the quota until less is left than a sweep needs: wait for the reset.
	for {
		rl, _ := client.Quota(ctx, 7, chatclient.OpGetChats)
		if rl.Remaining < 3 {
			assert.Equal(t, max(9*time.Minute, time.Until(rl.ResetAt)).Round(time.Minute), ib.interval(ctx).Round(time.Minute))
			break
		}
		_, err := client.ListChats(ctx, 7, chatclient.Filter{}, chatclient.PageRequest{})
		require.NoError(t, err)
	}
}

func TestReadsHoldTheNextSweepBackAnHourAtMost(t *testing.T) {
	srv := chattest.Start(t, chattest.WithChat(7, chattest.Chat{ID: 1}))
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
	require.NoError(t, err)
	ib, err := New(client, 7, NewMemoryStore(), func(context.Context, Event) error { return nil })
	require.NoError(t, err)
	// A first pass over 100,000 chats reads each one: a fifth of 10,000 reads an
	// hour would put the next sweep 50 hours away; the quota renews in one.
	ib.reads.Store(100_000)
	assert.Equal(t, time.Hour, ib.interval(context.Background()))
	ib.reads.Store(500) // a fifth of the quota allows 500 reads every quarter hour
	assert.Equal(t, 15*time.Minute, ib.interval(context.Background()))
}

// stopClock hands each wait asked of it to the test and goes on only when the test
// lets it, so a test sees exactly how long Run waited between sweeps.
type stopClock struct {
	*chattest.Clock
	waits chan time.Duration
	goOn  chan struct{}
}

func (c stopClock) Sleep(ctx context.Context, d time.Duration) error {
	c.waits <- d
	select {
	case <-c.goOn:
		return c.Clock.Sleep(ctx, d)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestRunWaitsBetweenSweepsByTheInboxClock(t *testing.T) {
	var chats []chattest.Chat
	for i := 1; i <= 45; i++ {
		chats = append(chats, chattest.Chat{ID: int64(i)})
	}
	clock := stopClock{Clock: chattest.NewClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)), waits: make(chan time.Duration), goOn: make(chan struct{})}
	srv := chattest.Start(t, chattest.WithClock(clock.Now), chattest.WithChat(7, chats...),
		chattest.WithQuota("getChats", chattest.Quota{Limit: 100, Window: time.Hour}))
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL), chatclient.WithClock(clock.Clock))
	require.NoError(t, err)
	ib, err := New(client, 7, NewMemoryStore(), func(context.Context, Event) error { return nil }, WithClock(clock))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }()
	// 45 chats are 3 pages; a fifth of 100 an hour is 20 requests: a sweep every 9
	// minutes, on the inbox's clock, which here moves on at once.
	for range 2 {
		assert.Equal(t, 9*time.Minute, <-clock.waits)
		clock.goOn <- struct{}{}
	}
	<-clock.waits // the third sweep is done
	assert.Equal(t, time.Date(2026, 12, 2, 9, 18, 0, 0, time.UTC), clock.Now(), "two waits passed")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	getChats := 0
	for _, r := range srv.Requests() {
		if r.Operation == "getChats" {
			getChats++
		}
	}
	assert.Equal(t, 9, getChats, "three sweeps of three pages")
}
