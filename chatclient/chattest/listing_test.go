package chattest_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

// manyChats is n chats of business 7, ids 1 to n, the lower ids idle the longest.
func manyChats(n int) chattest.Option {
	var chats []chattest.Chat
	for i := 1; i <= n; i++ {
		chats = append(chats, chattest.Chat{ID: int64(i), About: chatclient.Order(int64(i)), Idle: time.Duration(n-i+1) * time.Minute})
	}
	return chattest.WithChat(7, chats...)
}

func listIDs(t *testing.T, srv *chattest.Server) []int64 {
	t.Helper()
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
	require.NoError(t, err)
	var ids []int64
	for c, err := range client.Chats(context.Background(), 7, chatclient.Filter{}) {
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	return ids
}

func TestListingOrders(t *testing.T) {
	byID := listIDs(t, chattest.Start(t, manyChats(45)))
	require.Len(t, byID, 45)
	assert.True(t, slices.IsSorted(byID))

	byUpdated := listIDs(t, chattest.Start(t, manyChats(45), chattest.WithListingOrder(chattest.ByUpdatedAt, 0)))
	require.Len(t, byUpdated, 45)
	assert.Equal(t, int64(45), byUpdated[0], "chat 45 was updated most recently")
	assert.Equal(t, int64(1), byUpdated[44])

	shuffled := listIDs(t, chattest.Start(t, manyChats(45), chattest.WithListingOrder(chattest.Shuffled, 3)))
	require.Len(t, shuffled, 45)
	assert.False(t, slices.IsSorted(shuffled))
	assert.Equal(t, shuffled, listIDs(t, chattest.Start(t, manyChats(45), chattest.WithListingOrder(chattest.Shuffled, 3))), "the same seed, the same order")
	assert.ElementsMatch(t, byID, shuffled)
}

func TestOnChatsPageChangesChatsWhileACallerPages(t *testing.T) {
	srv := chattest.Start(t, manyChats(45), chattest.WithListingOrder(chattest.ByUpdatedAt, 0))
	var pages atomic.Int32
	srv.OnChatsPage(func(business int64) {
		assert.Equal(t, int64(7), business)
		if pages.Add(1) == 2 { // the oldest chat jumps to the front after the first page
			_, err := srv.CustomerWrites(7, 1, "still there?")
			assert.NoError(t, err)
		}
	})
	ids := listIDs(t, srv)
	assert.Equal(t, int32(3), pages.Load())
	assert.Len(t, ids, 44, "the chat that moved is behind the caller now, and one other chat shifted onto a page already read")
	assert.NotContains(t, ids, int64(1))
}
