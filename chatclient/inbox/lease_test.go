package inbox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
)

// fleetStore is a memory store with leases, where "another process" holds what the
// test says.
type fleetStore struct {
	*inbox.MemoryStore
	mu        sync.Mutex
	elsewhere map[int64]bool // chats another process holds
	sweeping  bool           // another process sweeps
}

func (f *fleetStore) LeaseChat(_ context.Context, _, chatID int64) (func(), bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return func() {}, !f.elsewhere[chatID], nil
}

func (f *fleetStore) LeaseSweep(context.Context, int64) (func(), bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sweeping {
		return nil, false, nil
	}
	return func() {}, true, nil
}

func (f *fleetStore) set(chatID int64, held bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.elsewhere[chatID] = held
}

func TestAChatAnotherProcessHoldsWaitsForIt(t *testing.T) {
	srv := chattest.Start(t, chats(2))
	store := &fleetStore{MemoryStore: inbox.NewMemoryStore(), elsewhere: map[int64]bool{1: true}}
	rec := newRecorder()
	ib, err := inbox.New(clientOf(t, srv), business, store, rec.handle, inbox.WithBackoff(time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)
	run(t, ib)
	rec.waitFor(t, 10*time.Second, "chat 2", func() bool { return len(rec.events(2)) == 1 })
	assert.Empty(t, rec.events(1), "chat 1 is another process's")
	store.set(1, false)
	rec.waitFor(t, 10*time.Second, "chat 1, once free", func() bool { return len(rec.events(1)) == 1 })
}

func TestAnotherProcessSweeping(t *testing.T) {
	srv := chattest.Start(t, chats(2))
	store := &fleetStore{MemoryStore: inbox.NewMemoryStore(), elsewhere: map[int64]bool{}, sweeping: true}
	rec := newRecorder()
	ib, err := inbox.New(clientOf(t, srv), business, store, rec.handle)
	require.NoError(t, err)
	run(t, ib)
	require.NoError(t, ib.Wake(context.Background(), 2, true)) // pushes are still handled
	rec.waitFor(t, 10*time.Second, "the pushed chat", func() bool { return len(rec.events(2)) == 1 })
	assert.Zero(t, requests(srv)["getChats"], "no sweep while another process sweeps")
	assert.Empty(t, rec.events(1))
	assert.True(t, ib.SweptElsewhere())
	at, _ := ib.LastSweep()
	assert.True(t, at.IsZero())
}
