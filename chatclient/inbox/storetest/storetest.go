// Package storetest checks that an [inbox.Store] keeps the contract the inbox relies
// on; a store's own tests call [Run].
package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/inbox"
)

// Run checks the store that open returns (a new, empty one each call).
func Run(t *testing.T, open func(t *testing.T) inbox.Store) {
	ctx := context.Background()
	t.Run("an unknown chat has the zero state", func(t *testing.T) {
		s := open(t)
		st, err := s.Load(ctx, 1, 42)
		must(t, err)
		if st != (inbox.ChatState{ChatID: 42}) {
			t.Fatalf("Load of an unknown chat = %+v, want the zero state of chat 42", st)
		}
	})
	t.Run("save and load", func(t *testing.T) {
		s := open(t)
		at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		want := inbox.ChatState{ChatID: 42, Known: true, LastMessageID: 1000, Status: chatclient.StatusWaitingForPartner,
			Arbitration: true, UpdatedAt: at, ReadAt: at.Add(time.Second), ObservedAt: at.Add(2 * time.Second), Clean: 3}
		must(t, s.Save(ctx, 1, want))
		got, err := s.Load(ctx, 1, 42)
		must(t, err)
		if !equal(got, want) {
			t.Fatalf("Load = %+v, want %+v", got, want)
		}
		other, err := s.Load(ctx, 2, 42)
		must(t, err)
		if other.Known {
			t.Fatal("a chat of another business shares the state")
		}
	})
	t.Run("save keeps the dirty marks", func(t *testing.T) {
		s := open(t)
		must(t, s.MarkDirty(ctx, 1, 42))
		must(t, s.MarkDirty(ctx, 1, 43))
		must(t, s.MarkDirty(ctx, 1, 43))
		dirty, err := s.Dirty(ctx, 1)
		must(t, err)
		slices.Sort(dirty)
		if !slices.Equal(dirty, []int64{42, 43}) {
			t.Fatalf("Dirty = %v, want [42 43]", dirty)
		}
		// A read that began before the second mark of chat 43 leaves it dirty.
		must(t, s.Save(ctx, 1, inbox.ChatState{ChatID: 42, Known: true, Clean: 1}))
		must(t, s.Save(ctx, 1, inbox.ChatState{ChatID: 43, Known: true, Clean: 1}))
		dirty, err = s.Dirty(ctx, 1)
		must(t, err)
		if !slices.Equal(dirty, []int64{43}) {
			t.Fatalf("Dirty = %v, want [43]", dirty)
		}
		st, err := s.Load(ctx, 1, 43)
		must(t, err)
		if st.Dirty != 2 || !st.Known {
			t.Fatalf("Load = %+v, want Dirty 2 kept by Save and Known saved", st)
		}
		if other, err := s.Dirty(ctx, 2); err != nil || len(other) != 0 {
			t.Fatalf("Dirty of another business = %v, %v; want none", other, err)
		}
	})
}

func equal(a, b inbox.ChatState) bool {
	return a.ChatID == b.ChatID && a.Known == b.Known && a.LastMessageID == b.LastMessageID && a.Status == b.Status &&
		a.Arbitration == b.Arbitration && a.UpdatedAt.Equal(b.UpdatedAt) && a.ReadAt.Equal(b.ReadAt) &&
		a.ObservedAt.Equal(b.ObservedAt) && a.Dirty == b.Dirty && a.Clean == b.Clean
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
