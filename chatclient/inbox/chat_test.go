package inbox_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
)

// started runs an inbox over srv with a memory store and the recorder, and waits for
// the first sweep to hand over the n chats.
func started(t *testing.T, srv *chattest.Server, rec *recorder, n int, opts ...inbox.Option) *inbox.Inbox {
	t.Helper()
	opts = append([]inbox.Option{inbox.WithBackoff(time.Millisecond, 10*time.Millisecond)}, opts...)
	ib, err := inbox.New(clientOf(t, srv), business, inbox.NewMemoryStore(), rec.handle, opts...)
	require.NoError(t, err)
	run(t, ib)
	rec.waitFor(t, 10*time.Second, "the first sweep", func() bool { return rec.count(inbox.ChatCreated) == n })
	return ib
}

// kinds returns the kinds of a chat's events.
func kinds(events []inbox.Event) []inbox.Kind {
	var out []inbox.Kind
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return out
}

func TestStickersAndFilesAreMessagesToo(t *testing.T) {
	srv := chattest.Start(t, chats(1))
	sticker, err := srv.CustomerSendsSticker(business, 1)
	require.NoError(t, err)
	file, err := srv.CustomerSendsFile(business, 1, "receipt.pdf", []byte("%PDF"))
	require.NoError(t, err)
	rec := newRecorder()
	started(t, srv, rec, 1)
	rec.waitFor(t, 10*time.Second, "the messages", func() bool { return rec.count(inbox.NewMessage) == 2 })
	ev := rec.events(1)
	require.Len(t, ev, 3, "created (as first seen, waiting for the partner), two messages")
	assert.Equal(t, sticker, ev[1].Message.ID)
	assert.Empty(t, ev[1].Message.Text)
	assert.Empty(t, ev[1].Message.Attachments)
	assert.Equal(t, file, ev[2].Message.ID)
	require.Len(t, ev[2].Message.Attachments, 1)
	assert.Equal(t, "receipt.pdf", ev[2].Message.Attachments[0].Name)
}

func TestANewChatComesBeforeItsMessagesAndItsStatusAfter(t *testing.T) {
	srv := chattest.Start(t, chats(1)) // chat 1 is WAITING_FOR_PARTNER
	rec := newRecorder()
	ib := started(t, srv, rec, 1)
	_, err := srv.CustomerWrites(business, 1, "one")
	require.NoError(t, err)
	require.NoError(t, srv.SetChatStatus(business, 1, chatclient.StatusFinished))
	require.NoError(t, ib.Sweep(context.Background()))
	rec.waitFor(t, 10*time.Second, "the sweep's events", func() bool { return rec.count(inbox.StatusChanged) == 1 })
	ev := rec.events(1)
	assert.Equal(t, []inbox.Kind{inbox.ChatCreated, inbox.NewMessage, inbox.StatusChanged}, kinds(ev))
	assert.Equal(t, chatclient.StatusWaitingForPartner, ev[2].OldStatus)
	assert.Equal(t, chatclient.StatusFinished, ev[2].Chat.Status)
}

func TestADisputeStartsAndFinishes(t *testing.T) {
	srv := chattest.Start(t, chats(1))
	rec := newRecorder()
	ib := started(t, srv, rec, 1)
	require.NoError(t, srv.StartArbitrage(business, 1))
	require.NoError(t, ib.Sweep(context.Background()))
	rec.waitFor(t, 10*time.Second, "the dispute", func() bool { return rec.count(inbox.ArbitrationStarted) == 1 })
	require.NoError(t, srv.FinishArbitrage(business, 1))
	require.NoError(t, ib.Sweep(context.Background()))
	rec.waitFor(t, 10*time.Second, "its end", func() bool { return rec.count(inbox.ArbitrationFinished) == 1 })
	assert.Equal(t, []inbox.Kind{inbox.ChatCreated,
		inbox.NewMessage, inbox.StatusChanged, inbox.ArbitrationStarted, // the Market's message, WAITING_FOR_ARBITER
		inbox.NewMessage, inbox.StatusChanged, inbox.ArbitrationFinished, // the support's decision, FINISHED
	}, kinds(rec.events(1)))
}

func TestAFailingHandlerHoldsBackOnlyItsChat(t *testing.T) {
	srv := chattest.Start(t, chats(2))
	var open atomic.Bool
	rec := newRecorder()
	rec.fail = func(e inbox.Event) bool { return e.ChatID == 1 && e.Kind == inbox.NewMessage && !open.Load() }
	ib := started(t, srv, rec, 2)
	first, err := srv.CustomerWrites(business, 1, "first")
	require.NoError(t, err)
	second, err := srv.CustomerWrites(business, 1, "second")
	require.NoError(t, err)
	other, err := srv.CustomerWrites(business, 2, "other chat")
	require.NoError(t, err)
	require.NoError(t, ib.Sweep(context.Background()))
	rec.waitFor(t, 10*time.Second, "chat 2", func() bool { return rec.count(inbox.NewMessage) == 1 })
	assert.Equal(t, other, rec.events(2)[1].Message.ID)
	rec.waitFor(t, 10*time.Second, "retries of chat 1", func() bool { return rec.calls.Load() > 10 })
	assert.Len(t, rec.events(1), 1, "chat 1 is held back at its first message")
	open.Store(true)
	rec.waitFor(t, 10*time.Second, "chat 1", func() bool { return rec.count(inbox.NewMessage) == 3 })
	ev := rec.events(1)
	assert.Equal(t, first, ev[1].Message.ID)
	assert.Equal(t, second, ev[2].Message.ID, "in order, each once")
}

func TestTheCursorSkipsWhatTheHistoryRepeats(t *testing.T) {
	// The Market reads from messageIdFrom inclusive: the cursor's own message comes
	// back on every read and must not be handed over again.
	srv := chattest.Start(t, chats(1))
	rec := newRecorder()
	ib := started(t, srv, rec, 1)
	for i := range 3 {
		_, err := srv.CustomerWrites(business, 1, "again")
		require.NoError(t, err)
		require.NoError(t, ib.Sweep(context.Background()))
		rec.waitFor(t, 10*time.Second, "the message", func() bool { return rec.count(inbox.NewMessage) == i+1 })
	}
	var ids []int64
	for _, e := range rec.events(1) {
		if e.Kind == inbox.NewMessage {
			ids = append(ids, e.Message.ID)
		}
	}
	assert.Len(t, uniq(ids), 3)
}

func TestAReadThatFailsIsTriedAgain(t *testing.T) {
	srv := chattest.Start(t, chats(1))
	_, err := srv.CustomerWrites(business, 1, "hello")
	require.NoError(t, err)
	srv.Script("getChatHistory", chattest.StatusFault(404, "NOT_FOUND", "gone for a moment")) // not retried by the client
	rec := newRecorder()
	started(t, srv, rec, 1)
	rec.waitFor(t, 10*time.Second, "the message", func() bool { return rec.count(inbox.NewMessage) == 1 })
}
