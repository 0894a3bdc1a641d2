package inbox

import (
	"context"
	"sync"
)

// MemoryStore is a [Store] in memory, for tests and for a process that may lose its
// place on restart (every chat is then new again, and its history handed over from
// the start). The zero value is ready to use.
type MemoryStore struct {
	mu    sync.Mutex
	chats map[key]ChatState
}

// key names a chat of a business.
type key struct{ business, chat int64 }

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load implements [Store].
func (m *MemoryStore) Load(_ context.Context, businessID, chatID int64) (ChatState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.chats[key{businessID, chatID}]
	s.ChatID = chatID
	return s, nil
}

// Save implements [Store].
func (m *MemoryStore) Save(_ context.Context, businessID int64, s ChatState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.chats == nil {
		m.chats = map[key]ChatState{}
	}
	k := key{businessID, s.ChatID}
	s.Dirty = m.chats[k].Dirty
	m.chats[k] = s
	return nil
}

// MarkDirty implements [Store].
func (m *MemoryStore) MarkDirty(_ context.Context, businessID, chatID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.chats == nil {
		m.chats = map[key]ChatState{}
	}
	k := key{businessID, chatID}
	s := m.chats[k]
	s.ChatID = chatID
	s.Dirty++
	m.chats[k] = s
	return nil
}

// Dirty implements [Store].
func (m *MemoryStore) Dirty(_ context.Context, businessID int64) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int64
	for k, s := range m.chats {
		if k.business == businessID && s.IsDirty() {
			out = append(out, k.chat)
		}
	}
	return out, nil
}
