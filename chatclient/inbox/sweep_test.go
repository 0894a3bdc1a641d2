package inbox_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
)

// requests counts the fake's requests by operation.
func requests(srv *chattest.Server) map[string]int {
	out := map[string]int{}
	for _, r := range srv.Requests() {
		out[r.Operation]++
	}
	return out
}

func TestASweepReadsTheHistoryOfTheChatsThatChangedOnly(t *testing.T) {
	srv := chattest.Start(t, chats(100))
	rec := newRecorder()
	ib := started(t, srv, rec, 100)
	rec.waitFor(t, 10*time.Second, "the first sweep's reads", func() bool { return ib.Pending() == 0 })
	srv.ResetRequests()
	for _, id := range []int64{3, 50, 99} {
		_, err := srv.CustomerSendsSticker(business, id) // no push
		require.NoError(t, err)
	}
	require.NoError(t, ib.Sweep(context.Background()))
	rec.waitFor(t, 10*time.Second, "the stickers", func() bool { return rec.count(inbox.NewMessage) == 3 })
	got := requests(srv)
	assert.Equal(t, 5, got["getChats"], "100 chats, 5 pages")
	assert.Equal(t, 3, got["getChatHistory"], "one read per changed chat")
	assert.Zero(t, got["getChat"]+got["getChatMessage"])
}

func TestASweepSurvivesChatsMovingWhileItPages(t *testing.T) {
	// Newest update first: a chat written to while the sweep pages jumps to the
	// front and pushes another chat onto a page read already. Whatever one sweep
	// misses, the next finds.
	srv := chattest.Start(t, chats(60), chattest.WithListingOrder(chattest.ByUpdatedAt, 0))
	rec := newRecorder()
	ib := started(t, srv, rec, 60)
	var pages atomic.Int32
	written := 0
	srv.OnChatsPage(func(int64) {
		if pages.Add(1)%2 == 0 {
			_, err := srv.CustomerSendsSticker(business, int64(1+pages.Load()%60))
			assert.NoError(t, err)
		}
	})
	for range 3 {
		require.NoError(t, ib.Sweep(context.Background()))
	}
	srv.OnChatsPage(nil)
	for _, e := range srv.Events() {
		if e.Kind == chattest.EventMessageWritten {
			written++
		}
	}
	require.NoError(t, ib.Sweep(context.Background()))
	rec.waitFor(t, 10*time.Second, "every sticker", func() bool { return rec.count(inbox.NewMessage) == written })
	assert.Positive(t, written)
}
