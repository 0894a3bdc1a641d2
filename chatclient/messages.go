package chatclient

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/ymchat/ymchat/api"
)

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
	res, err := get[api.ChatHistory](ctx, c, OpGetChatHistory, businessID, req, err, nil)
	if err != nil {
		return nil, err
	}
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
	return pages(OpGetChatHistory, start, func(req PageRequest) (*MessagePage, string, error) {
		p, err := c.listMessages(ctx, businessID, chatID, fromID, req)
		if err != nil {
			return nil, "", err
		}
		return p, p.NextPageToken, nil
	}, func(p *MessagePage, seen *idSet) int {
		p.Messages = dropSeen(p.Messages, seen, func(m *Message) int64 { return m.ID })
		return len(p.Messages)
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
	res, err := get(ctx, c, OpGetChatMessage, businessID, req, err, func(r *api.ChatMessage) bool { return r.MessageID > 0 })
	if err != nil {
		return Message{}, err
	}
	return messageFromAPI(res), nil
}
