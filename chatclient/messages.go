package chatclient

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ymchat/ymchat/api"
)

// Limits of the conversation methods, from the Market's documents.
const (
	// MaxHistoryPageSize is the most messages one getChatHistory page may hold.
	MaxHistoryPageSize = 100
	// MaxMessageLength is the most characters (not bytes) a text message may hold.
	MaxMessageLength = 4096
	// MaxFileSize is the largest file sendFileToChat takes, in bytes (5 MiB).
	MaxFileSize = 5 << 20
)

// Sender says who wrote a message. Values the Market adds later decode as they are;
// [Senders] lists the known ones.
type Sender = api.ChatMessageSender

// The known senders.
const (
	// SenderPartner: the seller (you).
	SenderPartner = api.ChatMessageSenderPartner
	// SenderCustomer: the customer.
	SenderCustomer = api.ChatMessageSenderCustomer
	// SenderMarket: the Market itself (automatic messages).
	SenderMarket = api.ChatMessageSenderMarket
	// SenderSupport: the Market's support staff.
	SenderSupport = api.ChatMessageSenderSupport
)

// Senders returns the known senders.
func Senders() []Sender { return []Sender{SenderPartner, SenderCustomer, SenderMarket, SenderSupport} }

// Message is one message of a chat.
type Message struct {
	// ID is the message's id.
	ID int64 `json:"id"`
	// CreatedAt is when it was written.
	CreatedAt time.Time `json:"createdAt"`
	// Sender says who wrote it.
	Sender Sender `json:"sender"`
	// Text is the message's text; empty for a message that is only attachments.
	Text string `json:"text,omitempty"`
	// Attachments are the files sent with it.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is a file sent in a chat.
type Attachment struct {
	// Name is the file's name.
	Name string `json:"name"`
	// URL is where to download it.
	URL string `json:"url"`
	// Size is its size in bytes.
	Size int64 `json:"size"`
}

func messageFromAPI(m *api.ChatMessage) Message {
	out := Message{ID: m.MessageID, CreatedAt: m.CreatedAt, Sender: m.Sender, Text: m.Message}
	if len(m.Payload) > 0 {
		out.Attachments = make([]Attachment, len(m.Payload))
		for i, p := range m.Payload {
			out.Attachments[i] = Attachment{Name: p.Name, URL: p.URL, Size: int64(p.Size)}
		}
	}
	return out
}

// MessagePage is one page of a chat's history.
type MessagePage struct {
	// Messages are the page's messages, oldest first.
	Messages []Message
	// Context is what the chat is about.
	Context ChatContext
	// NextPageToken resumes the history after this page; empty on the last page.
	NextPageToken string
}

// ListMessages returns one page of a chat's history, oldest first, starting at message
// fromID (0: from the first message). Pass the page's NextPageToken in the next
// PageRequest to go on.
func (c *Client) ListMessages(ctx context.Context, businessID, chatID, fromID int64, page PageRequest) (*MessagePage, error) {
	if err := checkHistory(businessID, chatID, fromID, page); err != nil {
		return nil, err
	}
	return c.listMessages(ctx, businessID, chatID, fromID, page)
}

func checkHistory(businessID, chatID, fromID int64, page PageRequest) error {
	if err := validateID("businessId", businessID); err != nil {
		return err
	}
	if err := validateID("chatId", chatID); err != nil {
		return err
	}
	if fromID < 0 {
		return &ValidationError{Field: "messageIdFrom", Rule: "must be at least 1 (0 for the first message)", Value: fromID}
	}
	if page.Limit < 0 || page.Limit > MaxHistoryPageSize {
		return &ValidationError{Field: "limit", Rule: fmt.Sprintf("must be between 1 and %d (0 for the Market's default)", MaxHistoryPageSize), Value: page.Limit}
	}
	return nil
}

func (c *Client) listMessages(ctx context.Context, businessID, chatID, fromID int64, page PageRequest) (*MessagePage, error) {
	params := api.GetChatHistoryParams{ChatID: chatID}
	if page.Limit > 0 {
		limit := int32(page.Limit)
		params.Limit = &limit
	}
	if page.Token != "" {
		params.PageToken = &page.Token
	}
	var body api.GetChatHistoryRequest
	if fromID > 0 {
		body.MessageIDFrom = &fromID
	}
	req, err := api.NewGetChatHistoryRequest(c.server, businessID, &params, body)
	if err != nil {
		return nil, err
	}
	a, err := c.do(ctx, &call{op: OpGetChatHistory, business: businessID, req: req})
	if err != nil {
		return nil, err
	}
	var env api.GetChatHistoryEnvelope
	if err := c.decode(OpGetChatHistory, &a, &env); err != nil {
		return nil, err
	}
	res := &env.Result
	out := &MessagePage{Messages: make([]Message, len(res.Messages)), NextPageToken: res.Paging.NextPageToken,
		Context: chatFromAPI(&api.Chat{Context: res.Context, OrderID: res.OrderID}).Context}
	for i := range res.Messages {
		out.Messages[i] = messageFromAPI(&res.Messages[i])
	}
	return out, nil
}

// MessagePages iterates over the pages of a chat's history, oldest first, from message
// fromID (0: the first) and from start (a stored NextPageToken resumes a history that
// failed). start.Limit 0 asks for pages of [MaxHistoryPageSize]. It stops like
// [Client.ChatPages].
func (c *Client) MessagePages(ctx context.Context, businessID, chatID, fromID int64, start PageRequest) iter.Seq2[*MessagePage, error] {
	if start.Limit == 0 {
		start.Limit = MaxHistoryPageSize
	}
	if err := checkHistory(businessID, chatID, fromID, start); err != nil {
		return func(yield func(*MessagePage, error) bool) { yield(nil, err) }
	}
	return pages(OpGetChatHistory, start, func(req PageRequest) (*MessagePage, int, string, error) {
		p, err := c.listMessages(ctx, businessID, chatID, fromID, req)
		if err != nil {
			return nil, 0, "", err
		}
		return p, len(p.Messages), p.NextPageToken, nil
	})
}

// Messages iterates over a chat's messages, oldest first, from message fromID (0: the
// first), page after page.
//
//	for msg, err := range client.Messages(ctx, businessID, chatID, 0) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(msg.Sender, msg.Text)
//	}
func (c *Client) Messages(ctx context.Context, businessID, chatID, fromID int64) iter.Seq2[Message, error] {
	return items(c.MessagePages(ctx, businessID, chatID, fromID, PageRequest{}), func(p *MessagePage) []Message { return p.Messages })
}

// GetMessage returns one message of a chat.
func (c *Client) GetMessage(ctx context.Context, businessID, chatID, messageID int64) (Message, error) {
	if err := validateID("businessId", businessID); err != nil {
		return Message{}, err
	}
	if err := validateID("chatId", chatID); err != nil {
		return Message{}, err
	}
	if err := validateID("messageId", messageID); err != nil {
		return Message{}, err
	}
	req, err := api.NewGetChatMessageRequest(c.server, businessID, &api.GetChatMessageParams{ChatID: chatID, MessageID: messageID})
	if err != nil {
		return Message{}, err
	}
	a, err := c.do(ctx, &call{op: OpGetChatMessage, business: businessID, req: req})
	if err != nil {
		return Message{}, err
	}
	var env api.GetChatMessageEnvelope
	if err := c.decode(OpGetChatMessage, &a, &env); err != nil {
		return Message{}, err
	}
	if env.Result.MessageID < 1 {
		return Message{}, &ResponseError{Operation: OpGetChatMessage, StatusCode: a.status, Err: errors.New("the answer holds no message")}
	}
	return messageFromAPI(&env.Result), nil
}

// ValidateText checks a text message as [Client.SendMessage] does, without sending it:
// 1 to [MaxMessageLength] characters of valid UTF-8, not only white space.
func ValidateText(text string) error {
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(text):
		return &ValidationError{Field: "message", Rule: "must be valid UTF-8", Value: fmt.Sprintf("%d bytes", len(text))}
	case strings.TrimSpace(text) == "":
		return &ValidationError{Field: "message", Rule: "must not be empty or only white space", Value: quoted(text)}
	case n > MaxMessageLength:
		return &ValidationError{Field: "message", Rule: fmt.Sprintf("must be at most %d characters", MaxMessageLength), Value: fmt.Sprintf("%d characters", n)}
	}
	return nil
}

// SendMessage sends text to a chat as the seller.
//
// A message is sent at most once. The Market offers no idempotency key, so the client
// retries a send only when the Market certainly did not act: the request never left
// (connection refused, a name that did not resolve, a TLS handshake that failed) or the
// Market refused it with 420 or 429. After an ambiguous failure (a timeout or a dropped
// connection after the request was sent, a 5xx) it reads the chat's history: a PARTNER
// message with the same text written since the send began means it arrived, and the
// call succeeds; none means it did not, and it is sent again (within the retry
// policy's attempts). When the history cannot be read, the call returns a
// [*MaybeDeliveredError] (matching [ErrMaybeDelivered]) so the caller can decide.
func (c *Client) SendMessage(ctx context.Context, businessID, chatID int64, text string) error {
	if err := validateID("businessId", businessID); err != nil {
		return err
	}
	if err := validateID("chatId", chatID); err != nil {
		return err
	}
	if err := ValidateText(text); err != nil {
		return err
	}
	build := func() (*call, error) {
		req, err := api.NewSendMessageToChatRequest(c.server, businessID, &api.SendMessageToChatParams{ChatID: chatID}, api.SendMessageToChatRequest{Message: text})
		return &call{op: OpSendMessageToChat, business: businessID, req: req, once: true}, err
	}
	return c.sendOnce(ctx, businessID, chatID, build, func(m Message) bool { return m.Text == text })
}

// ErrMaybeDelivered is matched by [*MaybeDeliveredError].
var ErrMaybeDelivered = errors.New("the message may have been delivered")

// MaybeDeliveredError reports a message or file whose sending failed after it may have
// reached the Market, when the chat's history could not tell whether it did. Sending
// it again may deliver it twice; look at the chat before you do.
type MaybeDeliveredError struct {
	// Operation is [OpSendMessageToChat] or [OpSendFileToChat].
	Operation Operation
	// BusinessID and ChatID name the chat.
	BusinessID, ChatID int64
	// Err is the failure of the send.
	Err error
	// CheckErr is why the history could not settle it.
	CheckErr error
}

// Error implements error.
func (e *MaybeDeliveredError) Error() string {
	return fmt.Sprintf("chatclient: %s: chat %d: %v: %s; reading the chat's history to check failed: %v",
		e.Operation, e.ChatID, ErrMaybeDelivered, strings.TrimPrefix(e.Err.Error(), "chatclient: "+string(e.Operation)+": "), e.CheckErr)
}

// Is reports whether target is [ErrMaybeDelivered].
func (e *MaybeDeliveredError) Is(target error) bool { return target == ErrMaybeDelivered }

// Unwrap returns the failure of the send.
func (e *MaybeDeliveredError) Unwrap() error { return e.Err }

// deliveredSlack allows for the Date header's one-second resolution when comparing a
// message's time with the moment a send began.
const deliveredSlack = 2 * time.Second

// sendOnce sends a call that must not be delivered twice (see SendMessage), settling
// an ambiguous failure from the chat's history: sent reports whether a message is the
// one being sent.
func (c *Client) sendOnce(ctx context.Context, businessID, chatID int64, build func() (*call, error), sent func(Message) bool) error {
	for n := 1; ; n++ {
		cl, err := build()
		if err != nil {
			return err
		}
		since := c.MarketTime().Add(-deliveredSlack)
		a, err := c.do(ctx, cl)
		if err == nil {
			putBody(a.buf)
			return nil
		}
		var amb *ambiguousError
		if !errors.As(err, &amb) {
			return err
		}
		delivered, checkErr := c.delivered(ctx, businessID, chatID, since, sent)
		switch {
		case checkErr != nil:
			return &MaybeDeliveredError{Operation: cl.op, BusinessID: businessID, ChatID: chatID, Err: amb.err, CheckErr: checkErr}
		case delivered:
			return nil
		case n >= c.policy.MaxAttempts:
			return &RetryError{Operation: cl.op, Attempts: n, Err: amb.err}
		}
		c.logger.Debug("ymchat send not delivered: sending again", "operation", string(cl.op), "business", businessID, "chat", chatID)
	}
}

// delivered reads the chat's history for a PARTNER message that sent matches, written
// at since or later.
func (c *Client) delivered(ctx context.Context, businessID, chatID int64, since time.Time, sent func(Message) bool) (bool, error) {
	for m, err := range c.Messages(ctx, businessID, chatID, 0) {
		if err != nil {
			return false, err
		}
		if m.Sender == SenderPartner && !m.CreatedAt.Before(since) && sent(m) {
			return true, nil
		}
	}
	return false, nil
}
