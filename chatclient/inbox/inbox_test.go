package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
)

func TestNewChecksItsArguments(t *testing.T) {
	srv := chattest.Start(t)
	client := clientOf(t, srv)
	store := inbox.NewMemoryStore()
	handle := newRecorder().handle
	for name, f := range map[string]func() (*inbox.Inbox, error){
		"no client":   func() (*inbox.Inbox, error) { return inbox.New(nil, 1, store, handle) },
		"no business": func() (*inbox.Inbox, error) { return inbox.New(client, 0, store, handle) },
		"no store":    func() (*inbox.Inbox, error) { return inbox.New(client, 1, nil, handle) },
		"no handler":  func() (*inbox.Inbox, error) { return inbox.New(client, 1, store, nil) },
		"bad option":  func() (*inbox.Inbox, error) { return inbox.New(client, 1, store, handle, inbox.WithWorkers(0)) },
	} {
		_, err := f()
		assert.Error(t, err, name)
	}
	ib, err := inbox.New(client, 1, store, handle)
	require.NoError(t, err)
	assert.Equal(t, int64(1), ib.BusinessID())
}

func TestRunRunsOnceAtATimeAndEndsWithItsContext(t *testing.T) {
	srv := chattest.Start(t, chats(2))
	rec := newRecorder()
	ib := started(t, srv, rec, 2)
	assert.Error(t, ib.Run(context.Background()), "a second Run at once")
}

func TestARestartOnTheSameStoreHandsNothingOverTwice(t *testing.T) {
	srv := chattest.Start(t, chats(5))
	store := inbox.NewMemoryStore() // the same store, as a file store across a restart
	rec := newRecorder()
	client := clientOf(t, srv)
	ib, err := inbox.New(client, business, store, rec.handle)
	require.NoError(t, err)
	stop := run(t, ib)
	rec.waitFor(t, 10*time.Second, "the chats", func() bool { return rec.count(inbox.ChatCreated) == 5 && ib.Pending() == 0 })
	stop()
	_, err = srv.CustomerWrites(business, 4, "while you were away")
	require.NoError(t, err)
	ib, err = inbox.New(client, business, store, rec.handle)
	require.NoError(t, err)
	run(t, ib)
	rec.waitFor(t, 10*time.Second, "the message", func() bool { return rec.count(inbox.NewMessage) == 1 })
	assert.Equal(t, 5, rec.count(inbox.ChatCreated), "no chat handed over again")
}

func TestAnEventCutShortByAStopComesAgainAfterTheRestart(t *testing.T) {
	srv := chattest.Start(t, chats(1))
	id, err := srv.CustomerWrites(business, 1, "hello")
	require.NoError(t, err)
	store := inbox.NewMemoryStore()
	client := clientOf(t, srv)
	inHandler := make(chan struct{})
	ib, err := inbox.New(client, business, store, func(ctx context.Context, e inbox.Event) error {
		if e.Kind == inbox.NewMessage {
			close(inHandler)
			<-ctx.Done() // the process stops while the desk is busy with it
			return ctx.Err()
		}
		return nil
	})
	require.NoError(t, err)
	stop := run(t, ib)
	<-inHandler
	stop()

	rec := newRecorder()
	ib, err = inbox.New(client, business, store, rec.handle)
	require.NoError(t, err)
	run(t, ib)
	rec.waitFor(t, 10*time.Second, "the message", func() bool { return rec.count(inbox.NewMessage) == 1 })
	assert.Equal(t, id, rec.events(1)[0].Message.ID)
	assert.Zero(t, rec.count(inbox.ChatCreated), "the chat was handed over before the stop")
}
