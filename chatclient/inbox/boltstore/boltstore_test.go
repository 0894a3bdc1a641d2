package boltstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/inbox/boltstore"
	"github.com/ymchat/ymchat/chatclient/inbox/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) inbox.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "inbox.db"))
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestStateSurvivesReopening(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inbox.db")
	s, err := boltstore.Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Save(ctx, 7, inbox.ChatState{ChatID: 1, Known: true, LastMessageID: 99}))
	require.NoError(t, s.MarkDirty(ctx, 7, 2))
	require.NoError(t, s.Close())

	s, err = boltstore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	st, err := s.Load(ctx, 7, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(99), st.LastMessageID)
	dirty, err := s.Dirty(ctx, 7)
	require.NoError(t, err)
	assert.Equal(t, []int64{2}, dirty, "a push recorded before the restart is read after it")
}

func TestASecondOpenOfTheFileFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inbox.db")
	s, err := boltstore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	_, err = boltstore.Open(path)
	assert.Error(t, err, "the file is locked: two processes would hand the same chats over")
}
