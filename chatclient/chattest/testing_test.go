package chattest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestAFakeMadeForTests(t *testing.T) {
	clock := chattest.NewClock(time.Now())
	srv := chattest.Start(t, chattest.WithClock(clock.Now), chattest.WithChat(7,
		chattest.Chat{ID: 1, Status: chatclient.StatusWaitingForPartner, About: chatclient.Order(70), Customer: "Ann", Idle: 3 * time.Hour},
		chattest.Chat{ID: 2}))
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL), chatclient.WithClock(clock))
	require.NoError(t, err)
	ctx := context.Background()

	// Seeded from the public vocabulary, dates relative to the clock.
	c, err := client.GetChat(ctx, 7, 1)
	require.NoError(t, err)
	assert.Equal(t, chatclient.StatusWaitingForPartner, c.Status)
	assert.Equal(t, int64(70), c.Context.OrderID)
	assert.Equal(t, "Ann", c.Context.Customer.Name)
	assert.Equal(t, 3*time.Hour, clock.Now().Sub(c.UpdatedAt))
	d, err := client.GetChat(ctx, 7, 2)
	require.NoError(t, err)
	assert.Equal(t, chatclient.ContextDirect, d.Context.Type)
	assert.Equal(t, chatclient.StatusNew, d.Status)

	// A chat's status changes.
	require.NoError(t, srv.SetChatStatus(7, 2, chatclient.StatusFinished))
	d, err = client.GetChat(ctx, 7, 2)
	require.NoError(t, err)
	assert.Equal(t, chatclient.StatusFinished, d.Status)

	// A spent quota, waited out on the shared clock: exact, and no real time.
	srv.Script("getChat", chattest.SpentQuota(1000, clock.Now().Add(30*time.Second)))
	start := time.Now()
	_, err = client.GetChat(ctx, 7, 1)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{30 * time.Second}, clock.Sleeps())
	assert.Less(t, time.Since(start), 5*time.Second, "the wait took no real time")

	// Further off than the client may wait: an error saying when it resets.
	srv.Script("getChat", chattest.SpentQuota(1000, clock.Now().Add(time.Hour)))
	_, err = client.GetChat(ctx, 7, 1)
	var rle *chatclient.RateLimitError
	require.ErrorAs(t, err, &rle)
	assert.Equal(t, time.Hour, rle.RetryAfter)

	// The client remembers: no request goes out until the reset.
	n := len(srv.Requests())
	_, err = client.GetChat(ctx, 7, 1)
	require.ErrorAs(t, err, &rle)
	assert.Len(t, srv.Requests(), n, "nothing sent into a spent quota")
	clock.Advance(time.Hour)

	// A parallel-limit refusal is absorbed.
	srv.Script("getChat", chattest.ParallelLimit())
	_, err = client.GetChat(ctx, 7, 1)
	require.NoError(t, err)

	// Request headers are recorded.
	reqs := srv.Requests()
	require.NotEmpty(t, reqs)
	assert.True(t, strings.HasPrefix(reqs[0].Header.Get("User-Agent"), "ymchat/"))
	assert.Equal(t, srv.Token, reqs[0].Header.Get("Api-Key"))
}
