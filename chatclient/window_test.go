package chatclient_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

// spendAndHit spends the one request of getChat's quota with one client, then calls
// again with a fresh one, which knows nothing of the quota and gets the Market's 420.
func spendAndHit(t *testing.T, srv *chattest.Server) *chatclient.RateLimitError {
	t.Helper()
	_, err := clientFor(t, srv, chatclient.WithMaxWait(0)).GetChat(context.Background(), 100, 5000001)
	require.NoError(t, err)
	_, err = clientFor(t, srv, chatclient.WithMaxWait(0)).GetChat(context.Background(), 100, 5000001)
	var rle *chatclient.RateLimitError
	require.ErrorAs(t, err, &rle)
	require.NotNil(t, rle.Err, "the Market's own 420")
	require.Equal(t, 420, rle.Err.StatusCode)
	return rle
}

func TestRateLimitErrorTellsTheQuotaWindow(t *testing.T) {
	// A fixed clock keeps both calls in one window, wherever the test starts.
	at := time.Date(2026, 11, 22, 10, 0, 1, 0, time.UTC)
	clock := func() time.Time { return at }

	t.Run("a 15s window, as the 420 states it", func(t *testing.T) {
		srv := newFake(t, chattest.WithClock(clock), chattest.WithQuota("getChat", chattest.Quota{Limit: 1, Window: 15 * time.Second}))
		rle := spendAndHit(t, srv)
		assert.Equal(t, 15*time.Second, rle.Window)
		assert.Equal(t, int64(1), rle.Limit)
	})
	t.Run("an hourly window, as the 420 states it", func(t *testing.T) {
		srv := newFake(t, chattest.WithClock(clock), chattest.WithQuota("getChat", chattest.Quota{Limit: 1, Window: time.Hour}))
		assert.Equal(t, time.Hour, spendAndHit(t, srv).Window)
	})
	t.Run("the Market's words: per hour", func(t *testing.T) {
		srv := newFake(t, chattest.WithClock(clock))
		srv.Script("getChat", chattest.SpentQuota(1000, at.Add(time.Hour)))
		_, err := clientFor(t, srv, chatclient.WithMaxWait(0)).GetChat(context.Background(), 100, 5000001)
		var rle *chatclient.RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Equal(t, time.Hour, rle.Window)
	})
	t.Run("a window with a fraction, at the end of a sentence", func(t *testing.T) {
		srv := newFake(t, chattest.WithClock(clock))
		f := chattest.SpentQuota(1000, at.Add(time.Hour))
		f.Body = `{"status":"ERROR","errors":[{"code":"LIMIT_EXCEEDED","message":"Hit rate limit of 1000 requests per 1.5s."}]}`
		srv.Script("getChat", f)
		_, err := clientFor(t, srv, chatclient.WithMaxWait(0)).GetChat(context.Background(), 100, 5000001)
		var rle *chatclient.RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Equal(t, 1500*time.Millisecond, rle.Window)
	})
	t.Run("a 420 that states no window: the documented hour", func(t *testing.T) {
		srv := newFake(t, chattest.WithClock(clock))
		f := chattest.SpentQuota(1000, at.Add(time.Hour))
		f.Body = `{"status":"ERROR","errors":[{"code":"LIMIT_EXCEEDED","message":"quota spent"}]}`
		srv.Script("getChat", f)
		_, err := clientFor(t, srv, chatclient.WithMaxWait(0)).GetChat(context.Background(), 100, 5000001)
		var rle *chatclient.RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Equal(t, time.Hour, rle.Window)
	})
	t.Run("no request sent: the documented hour", func(t *testing.T) {
		srv := newFake(t, chattest.WithClock(clock), chattest.WithQuota("getChat", chattest.Quota{Limit: 1, Window: time.Hour}))
		c := clientFor(t, srv, chatclient.WithMaxWait(0))
		_, err := c.GetChat(context.Background(), 100, 5000001)
		require.NoError(t, err)
		_, err = c.GetChat(context.Background(), 100, 5000001)
		var rle *chatclient.RateLimitError
		require.ErrorAs(t, err, &rle)
		require.Nil(t, rle.Err, "the client knew from the last answer")
		assert.Equal(t, time.Hour, rle.Window)
	})
	t.Run("a 429 that reports no quota: unknown", func(t *testing.T) {
		srv := newFake(t, chattest.WithClock(clock))
		srv.Script("getChat", chattest.Fault{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"7200"}}})
		_, err := clientFor(t, srv, chatclient.WithMaxWait(0)).GetChat(context.Background(), 100, 5000001)
		var rle *chatclient.RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Zero(t, rle.Window)
	})
}
