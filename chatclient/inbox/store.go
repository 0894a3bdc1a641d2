package inbox

import (
	"context"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// ChatState is what the inbox keeps about one chat: how far it has handed the chat
// over, and what it last knew of it. It moves forward only after the handler
// succeeded.
type ChatState struct {
	// ChatID is the chat.
	ChatID int64 `json:"-"`
	// Known is set once the ChatCreated event was handled.
	Known bool `json:"k,omitempty"`
	// LastMessageID is the id of the last message handled: the cursor of the history.
	LastMessageID int64 `json:"m,omitempty"`
	// Status is the status last handed over.
	Status chatclient.ChatStatus `json:"s,omitempty"`
	// Arbitration is whether a dispute was open, as last handed over.
	Arbitration bool `json:"a,omitempty"`
	// UpdatedAt is the chat's updatedAt (the time of its last message) as of the
	// last complete read of its history.
	UpdatedAt time.Time `json:"u,omitzero"`
	// ReadAt is when, on the Market's clock, the last complete read of the history
	// began: a message dated before it (less a margin) was read then.
	ReadAt time.Time `json:"r,omitzero"`
	// ObservedAt is when the chat's status was seen (on the local clock), so that an
	// older sighting never takes a status back.
	ObservedAt time.Time `json:"o,omitzero"`
	// Dirty counts the pushes that said the chat has news; the store keeps it (Save
	// does not change it), [Store.MarkDirty] bumps it.
	Dirty uint64 `json:"d,omitempty"`
	// Clean is Dirty as of the start of the last complete read: the chat has unread
	// news while Dirty > Clean.
	Clean uint64 `json:"c,omitempty"`
}

// IsDirty reports whether a push said the chat has news the inbox has not read yet.
func (s ChatState) IsDirty() bool { return s.Dirty > s.Clean }

// Store keeps the [ChatState] of every chat, per business. The inbox calls it from
// several goroutines, but never for the same chat at once from one process. A Save or
// MarkDirty that returned nil must survive what the store promises to survive (a
// restart for a file store).
type Store interface {
	// Load returns a chat's state; a chat never saved has the zero state (with
	// ChatID set) and no error.
	Load(ctx context.Context, businessID, chatID int64) (ChatState, error)
	// Save stores a chat's state, every field but Dirty, which stays as the store
	// holds it: a push recorded while the chat was being read is not lost.
	Save(ctx context.Context, businessID int64, s ChatState) error
	// MarkDirty records that a push said the chat has news (Dirty + 1), creating
	// the chat's state if there is none.
	MarkDirty(ctx context.Context, businessID, chatID int64) error
	// Dirty returns the chats of the business whose state IsDirty.
	Dirty(ctx context.Context, businessID int64) ([]int64, error)
}
