package notify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The values of notificationType this package decodes into typed values.
const (
	TypePing                  = "PING"
	TypeChatCreated           = "CHAT_CREATED"
	TypeChatMessageSent       = "CHAT_MESSAGE_SENT"
	TypeChatArbitrageStarted  = "CHAT_ARBITRAGE_STARTED"
	TypeChatArbitrageFinished = "CHAT_ARBITRAGE_FINISHED"
)

// Notification is one decoded notification: [Ping], [ChatCreated], [ChatMessageSent],
// [ChatArbitrageStarted], [ChatArbitrageFinished] or [Other]. The set is closed; use
// a type switch. Every implementation marshals back to the JSON the Market sends.
type Notification interface {
	// NotificationType is the notificationType the Market sent, e.g. "CHAT_CREATED".
	NotificationType() string
	isNotification()
}

// Ping is the Market checking that the endpoint answers. The [Handler] answers it
// itself and never passes it to user code; [Decode] returns it.
type Ping struct {
	// Time is when the Market sent the check; zero when absent.
	Time time.Time
}

// ChatCreated reports a new chat with a customer (any chat type).
type ChatCreated struct {
	ChatID     int64     // the chat's id, ≥ 1
	BusinessID int64     // the business (cabinet) id, ≥ 1
	CreatedAt  time.Time // when the chat was created, in the offset the Market sent
}

// ChatMessageSent reports a new message in a chat (any chat type; the Market sends
// none for stickers). Read the message with getChatMessage(BusinessID, ChatID,
// MessageID.Int64()).
type ChatMessageSent struct {
	ChatID     int64     // the chat's id, ≥ 1
	BusinessID int64     // the business (cabinet) id, ≥ 1
	MessageID  MessageID // the message's id, as sent
	SentAt     time.Time // when the message was sent
}

// ChatArbitrageStarted reports that a dispute started in a chat (not sent for DIRECT
// chats).
type ChatArbitrageStarted struct {
	ChatID     int64     // the chat's id, ≥ 1
	BusinessID int64     // the business (cabinet) id, ≥ 1
	StartedAt  time.Time // when the dispute started
}

// ChatArbitrageFinished reports that a dispute in a chat ended (not sent for DIRECT
// chats).
type ChatArbitrageFinished struct {
	ChatID     int64     // the chat's id, ≥ 1
	BusinessID int64     // the business (cabinet) id, ≥ 1
	FinishedAt time.Time // when the dispute ended
}

// Other is a well-formed notification of a type this package does not decode
// (orders, reviews, questions, types the Market adds later).
type Other struct {
	// Type is the notificationType, never empty.
	Type string
	// Raw is the whole notification object exactly as received.
	Raw json.RawMessage
}

// MessageID is a message id exactly as the Market sent it. The vendor's description
// declares it a string while getChatMessage takes an int64, so both a JSON string and
// a JSON integer are accepted and kept as text; nothing is lost when it is not a
// number. It marshals as a JSON string.
type MessageID string

// Int64 returns the id as the int64 getChatMessage takes, or an error when the id is
// not a decimal integer in the int64 range.
func (id MessageID) Int64() (int64, error) {
	n, err := strconv.ParseInt(string(id), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("notify: message id %q is not an int64", string(id))
	}
	return n, nil
}

// String returns the id as sent.
func (id MessageID) String() string { return string(id) }

// UnmarshalJSON accepts a non-empty JSON string or a JSON integer and keeps its text.
func (id *MessageID) UnmarshalJSON(b []byte) error {
	s, err := decodeMessageID(b)
	if err != nil {
		return err
	}
	*id = s
	return nil
}

// NotificationType returns [TypePing].
func (Ping) NotificationType() string { return TypePing }

// NotificationType returns [TypeChatCreated].
func (ChatCreated) NotificationType() string { return TypeChatCreated }

// NotificationType returns [TypeChatMessageSent].
func (ChatMessageSent) NotificationType() string { return TypeChatMessageSent }

// NotificationType returns [TypeChatArbitrageStarted].
func (ChatArbitrageStarted) NotificationType() string { return TypeChatArbitrageStarted }

// NotificationType returns [TypeChatArbitrageFinished].
func (ChatArbitrageFinished) NotificationType() string { return TypeChatArbitrageFinished }

// NotificationType returns o.Type.
func (o Other) NotificationType() string { return o.Type }

func (Ping) isNotification()                  {}
func (ChatCreated) isNotification()           {}
func (ChatMessageSent) isNotification()       {}
func (ChatArbitrageStarted) isNotification()  {}
func (ChatArbitrageFinished) isNotification() {}
func (Other) isNotification()                 {}

// wireTime formats t the way the Market does: RFC 3339 with the offset kept.
func wireTime(t time.Time) string { return t.Format(time.RFC3339Nano) }

// MarshalJSON encodes the notification as the Market sends it.
func (p Ping) MarshalJSON() ([]byte, error) {
	v := struct {
		Type string `json:"notificationType"`
		Time string `json:"time,omitempty"`
	}{Type: TypePing}
	if !p.Time.IsZero() {
		v.Time = wireTime(p.Time)
	}
	return json.Marshal(v)
}

// MarshalJSON encodes the notification as the Market sends it.
func (n ChatCreated) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type       string `json:"notificationType"`
		ChatID     int64  `json:"chatId"`
		BusinessID int64  `json:"businessId"`
		CreatedAt  string `json:"createdAt"`
	}{TypeChatCreated, n.ChatID, n.BusinessID, wireTime(n.CreatedAt)})
}

// MarshalJSON encodes the notification as the Market sends it (messageId a string).
func (n ChatMessageSent) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type       string `json:"notificationType"`
		ChatID     int64  `json:"chatId"`
		MessageID  string `json:"messageId"`
		BusinessID int64  `json:"businessId"`
		SentAt     string `json:"sentAt"`
	}{TypeChatMessageSent, n.ChatID, string(n.MessageID), n.BusinessID, wireTime(n.SentAt)})
}

// MarshalJSON encodes the notification as the Market sends it.
func (n ChatArbitrageStarted) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type       string `json:"notificationType"`
		ChatID     int64  `json:"chatId"`
		BusinessID int64  `json:"businessId"`
		StartedAt  string `json:"startedAt"`
	}{TypeChatArbitrageStarted, n.ChatID, n.BusinessID, wireTime(n.StartedAt)})
}

// MarshalJSON encodes the notification as the Market sends it.
func (n ChatArbitrageFinished) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type       string `json:"notificationType"`
		ChatID     int64  `json:"chatId"`
		BusinessID int64  `json:"businessId"`
		FinishedAt string `json:"finishedAt"`
	}{TypeChatArbitrageFinished, n.ChatID, n.BusinessID, wireTime(n.FinishedAt)})
}

// MarshalJSON returns o.Raw.
func (o Other) MarshalJSON() ([]byte, error) {
	if len(o.Raw) == 0 {
		return json.Marshal(struct {
			Type string `json:"notificationType"`
		}{o.Type})
	}
	return o.Raw, nil
}
