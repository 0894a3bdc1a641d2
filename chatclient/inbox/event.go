package inbox

import (
	"context"
	"strconv"

	"github.com/ymchat/ymchat/chatclient"
)

// Kind says what an [Event] reports.
type Kind int

// The kinds of [Event], in the order they come for one chat when several are due at
// once: a new chat first, then its new messages, then its status, then its dispute.
const (
	// ChatCreated: a chat the inbox had not seen. Event.Chat is the chat as first seen.
	ChatCreated Kind = iota + 1
	// NewMessage: a message the inbox had not handed over, whoever wrote it (the
	// customer, the seller, the Market or its support) and whatever it holds: text,
	// files, or neither (a sticker). Event.Message is the message.
	NewMessage
	// StatusChanged: the chat's status moved from Event.OldStatus to Event.Chat.Status.
	StatusChanged
	// ArbitrationStarted: a dispute opened in the chat (an ARBITRAGE chat that is not
	// FINISHED, or a chat WAITING_FOR_ARBITER).
	ArbitrationStarted
	// ArbitrationFinished: the chat's dispute ended.
	ArbitrationFinished
)

// String returns the kind's name, e.g. "NewMessage".
func (k Kind) String() string {
	switch k {
	case ChatCreated:
		return "ChatCreated"
	case NewMessage:
		return "NewMessage"
	case StatusChanged:
		return "StatusChanged"
	case ArbitrationStarted:
		return "ArbitrationStarted"
	case ArbitrationFinished:
		return "ArbitrationFinished"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one thing that happened in a chat, handed to a [Handler].
type Event struct {
	// Kind says what happened.
	Kind Kind
	// BusinessID and ChatID name the chat.
	BusinessID, ChatID int64
	// Chat is the chat as last seen by the inbox, for every kind but NewMessage (whose
	// Chat holds the ID only: a message is read from the history, which does not tell
	// the chat's status).
	Chat chatclient.Chat
	// Message is the new message of a NewMessage event.
	Message chatclient.Message
	// OldStatus is the status before a StatusChanged event; the new one is Chat.Status.
	OldStatus chatclient.ChatStatus
}

// Handler handles one event. An error makes the inbox hand the same event again
// later, with backoff, holding back the later events of that chat only. (A panic is
// not recovered: it ends the process, like any goroutine's.) Make it idempotent (a
// NewMessage by chat and Message.ID) and it sees each event exactly once; the package
// documentation says when it may see one twice otherwise.
type Handler func(ctx context.Context, e Event) error
