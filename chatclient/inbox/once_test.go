package inbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
)

func TestOnceHandsOverEverythingAndReports(t *testing.T) {
	srv := chattest.Start(t, chats(45)) // three pages
	rec := newRecorder()
	store := inbox.NewMemoryStore()
	ib, err := inbox.New(clientOf(t, srv), business, store, rec.handle)
	require.NoError(t, err)

	rep, err := ib.Once(context.Background())
	require.NoError(t, err)
	assert.True(t, rep.Swept)
	assert.False(t, ib.SweptElsewhere())
	assert.Equal(t, 45, rep.Chats)
	assert.Equal(t, 45, rep.Handled)
	assert.Equal(t, 45, rec.count(inbox.ChatCreated))
	assert.Equal(t, int(rec.calls.Load()), rep.Events, "every event the handler took is counted")
	assert.Empty(t, rep.HeldBack)
	assert.Zero(t, ib.Pending(), "Once returns with nothing left")

	_, err = srv.CustomerSendsSticker(business, 5) // waiting for the seller: stays so
	require.NoError(t, err)
	before := rec.calls.Load()
	rep, err = ib.Once(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Events, "the second pass hands over only the sticker")
	assert.Equal(t, before+1, rec.calls.Load())
	assert.Len(t, rec.events(5), 2)
}

func TestOnceLeavesAFailingChatToTheNextPass(t *testing.T) {
	srv := chattest.Start(t, chats(3))
	rec := newRecorder()
	broken := true
	rec.fail = func(e inbox.Event) bool { return broken && e.ChatID == 2 }
	ib, err := inbox.New(clientOf(t, srv), business, inbox.NewMemoryStore(), rec.handle,
		inbox.WithBackoff(time.Millisecond, 2*time.Millisecond))
	require.NoError(t, err)

	rep, err := ib.Once(context.Background())
	require.NoError(t, err, "a failing chat is not the pass's error")
	require.Len(t, rep.HeldBack, 1)
	assert.ErrorContains(t, rep.HeldBack[2], "the desk is busy")
	assert.Equal(t, 2, rep.Handled)
	assert.Equal(t, int64(2+3), rec.calls.Load(), "two chats once, the failing one three times")
	assert.Empty(t, rec.events(2))

	broken = false
	rep, err = ib.Once(context.Background())
	require.NoError(t, err)
	assert.Empty(t, rep.HeldBack)
	assert.Len(t, rec.events(2), 1, "the next pass hands it over")
}

func TestOnceWhileAnotherProcessSweepsHandlesWhatPushesMarked(t *testing.T) {
	srv := chattest.Start(t, chats(3))
	store := &fleetStore{MemoryStore: inbox.NewMemoryStore(), elsewhere: map[int64]bool{3: true}, sweeping: true}
	require.NoError(t, store.MarkDirty(context.Background(), business, 2))
	require.NoError(t, store.MarkDirty(context.Background(), business, 3))
	rec := newRecorder()
	ib, err := inbox.New(clientOf(t, srv), business, store, rec.handle)
	require.NoError(t, err)

	rep, err := ib.Once(context.Background())
	require.NoError(t, err)
	assert.False(t, rep.Swept)
	assert.True(t, ib.SweptElsewhere())
	assert.Zero(t, requests(srv)["getChats"], "no sweep while another process sweeps")
	assert.Equal(t, 1, rep.Handled)
	assert.Equal(t, 1, rep.Elsewhere, "chat 3 is another process's to hand over")
	assert.Empty(t, rep.HeldBack)
	assert.Len(t, rec.events(2), 1)
	assert.Empty(t, rec.events(3))
}

func TestOnceReportsAFailedSweepAfterHandlingWhatItQueued(t *testing.T) {
	srv := chattest.Start(t, chats(3))
	srv.Script("getChats", chattest.StatusFault(400, "BAD_REQUEST", "no"))
	store := inbox.NewMemoryStore()
	require.NoError(t, store.MarkDirty(context.Background(), business, 1))
	rec := newRecorder()
	ib, err := inbox.New(clientOf(t, srv), business, store, rec.handle)
	require.NoError(t, err)

	rep, err := ib.Once(context.Background())
	require.Error(t, err)
	assert.False(t, rep.Swept)
	assert.Len(t, rec.events(1), 1, "the chat a push marked is handled all the same")
	assert.Equal(t, 1, rep.Handled)
}

func TestOnceAndRunDoNotRunTogether(t *testing.T) {
	srv := chattest.Start(t, chats(1))
	rec := newRecorder()
	ib, err := inbox.New(clientOf(t, srv), business, inbox.NewMemoryStore(), rec.handle)
	require.NoError(t, err)
	run(t, ib)
	rec.waitFor(t, 10*time.Second, "Run's first event", func() bool { return rec.calls.Load() > 0 })
	_, err = ib.Once(context.Background())
	require.ErrorContains(t, err, "running already")
}

func TestOnceEndsWithItsContext(t *testing.T) {
	srv := chattest.Start(t, chats(2))
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	rec.fail = func(inbox.Event) bool { cancel(); return true }
	ib, err := inbox.New(clientOf(t, srv), business, inbox.NewMemoryStore(), rec.handle, inbox.WithWorkers(1))
	require.NoError(t, err)
	rep, err := ib.Once(ctx)
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	assert.Len(t, rep.HeldBack, 2, "the chat cut short and the one not reached are left to the next pass")
	assert.Equal(t, int64(1), rec.calls.Load(), "nothing is tried once ctx ended")
	assert.Zero(t, ib.Pending())
}
