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
