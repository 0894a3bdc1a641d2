package inbox_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/notify"
)

func TestAPushReadsTheHistoryFromTheCursor(t *testing.T) {
	sw, url := receiver(t)
	srv := chattest.Start(t, chats(3), chattest.WithReceiver(url))
	rec := newRecorder()
	ib := started(t, srv, rec, 3, inbox.WithMinInterval(time.Hour))
	sw.to(t, ib)
	rec.waitFor(t, 10*time.Second, "the first sweep's reads", func() bool { return ib.Pending() == 0 })
	srv.ResetRequests()
	for range 5 {
		_, err := srv.CustomerWrites(business, 2, "are you there?")
		require.NoError(t, err)
	}
	rec.waitFor(t, 10*time.Second, "the pushed messages", func() bool { return rec.count(inbox.NewMessage) == 5 })
	got := requests(srv)
	assert.Zero(t, got["getChatMessage"], "no getChatMessage per push")
	assert.Zero(t, got["getChats"], "no sweep needed")
	assert.LessOrEqual(t, got["getChatHistory"], 5, "a history read per wake at most; pushes that come together share one")
}

func TestANewChatArrivesByPush(t *testing.T) {
	sw, url := receiver(t)
	srv := chattest.Start(t, chats(1), chattest.WithReceiver(url), chattest.WithOrders(business, chattest.Order{OrderID: 777}))
	rec := newRecorder()
	ib := started(t, srv, rec, 1, inbox.WithMinInterval(time.Hour))
	sw.to(t, ib)
	id, err := clientOf(t, srv).CreateChat(context.Background(), business, chattestOrder(777))
	require.NoError(t, err)
	rec.waitFor(t, 10*time.Second, "the new chat", func() bool { return rec.count(inbox.ChatCreated) == 2 })
	assert.Equal(t, inbox.ChatCreated, rec.events(id)[0].Kind)
}

// failingStore is a store whose MarkDirty fails.
type failingStore struct{ inbox.Store }

func (failingStore) MarkDirty(context.Context, int64, int64) error { return errors.New("disk full") }

func post(t *testing.T, h http.Handler, body string) int {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/notification", strings.NewReader(body)))
	return w.Code
}

// quiet keeps the failures the tests cause out of the test log.
var quiet = notify.WithLogger(slog.New(slog.DiscardHandler))

const pushBody = `{"notificationType":"CHAT_MESSAGE_SENT","chatId":5,"businessId":7,"messageId":"99","sentAt":"2026-12-02T09:00:00Z"}`

func TestAPushIsAnswered200OnlyOnceRecorded(t *testing.T) {
	srv := chattest.Start(t, chats(1))
	store := inbox.NewMemoryStore()
	ib, err := inbox.New(clientOf(t, srv), business, store, newRecorder().handle)
	require.NoError(t, err)
	h, err := notify.NewHandler(inbox.NotifyOptions(ib)...)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, post(t, h, pushBody))
	dirty, err := store.Dirty(context.Background(), business)
	require.NoError(t, err)
	assert.Equal(t, []int64{5}, dirty, "recorded before the 200, for a Run after a crash")

	broken, err := inbox.New(clientOf(t, srv), business, failingStore{store}, newRecorder().handle)
	require.NoError(t, err)
	h, err = notify.NewHandler(append(inbox.NotifyOptions(broken), quiet)...)
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, post(t, h, pushBody), "not recorded: the Market sends it again")
}

func TestAPushForAnotherBusinessFails(t *testing.T) {
	srv := chattest.Start(t, chats(1))
	ib, err := inbox.New(clientOf(t, srv), 8, inbox.NewMemoryStore(), newRecorder().handle)
	require.NoError(t, err)
	h, err := notify.NewHandler(append(inbox.NotifyOptions(ib), quiet)...)
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, post(t, h, pushBody))
}
