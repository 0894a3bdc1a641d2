package chattest

import (
	"time"

	"github.com/ymchat/ymchat/api"
)

// EventKind says what happened in an [Event].
type EventKind string

// The kinds of [Event] the fake records.
const (
	// EventChatCreated: a chat came to be (createChat, [WithChats], [WithChat], a
	// fixture or [Server.AddChat]).
	EventChatCreated EventKind = "CHAT_CREATED"
	// EventMessageWritten: a message was appended to a chat, by anyone.
	EventMessageWritten EventKind = "MESSAGE_WRITTEN"
	// EventStatusChanged: a chat's status changed (from OldStatus to Status).
	EventStatusChanged EventKind = "STATUS_CHANGED"
	// EventArbitrationStarted: a dispute was opened ([Server.StartArbitrage]).
	EventArbitrationStarted EventKind = "ARBITRATION_STARTED"
	// EventArbitrationFinished: a dispute was closed ([Server.FinishArbitrage]).
	EventArbitrationFinished EventKind = "ARBITRATION_FINISHED"
)

// Event is one thing that happened in the fake Market, whether or not anybody was
// told: the ground truth a test compares what a client found out against.
type Event struct {
	// Seq orders the events of the server, from 1.
	Seq int64
	// Kind says what happened.
	Kind EventKind
	// BusinessID and ChatID name the chat.
	BusinessID, ChatID int64
	// MessageID and Sender describe the message of an EventMessageWritten.
	MessageID int64
	Sender    api.ChatMessageSender
	// OldStatus and Status are the chat's status before and after an
	// EventStatusChanged; Status alone is the status of a created chat.
	OldStatus, Status api.ChatStatus
	// At is when it happened, on the server's clock.
	At time.Time
}

// Events returns every event so far, in the order they happened. Loading a fixture
// records its chats as created and its messages as written.
func (s *Server) Events() []Event {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return append([]Event{}, s.store.events...)
}

// recordLocked appends an event to the log; s.mu must be held.
func (s *store) recordLocked(e Event) {
	e.Seq = int64(len(s.events)) + 1
	s.events = append(s.events, e)
}

// record appends an event to the log.
func (s *store) record(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordLocked(e)
}
