package chatclient

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/ymchat/ymchat/api"
)

// MaxPageSize is the most chats one getChats page may hold.
const MaxPageSize = 20

// Chat is one chat between the seller and a customer.
type Chat struct {
	// ID is the chat's id.
	ID int64 `json:"id"`
	// Type is [TypeChat] or [TypeArbitrage]; values the Market adds later come
	// through as they are.
	Type ChatType `json:"type"`
	// Status says who should answer next, or that the chat is over.
	Status ChatStatus `json:"status"`
	// Context is what the chat is about, as the Market reports it.
	Context ChatContext `json:"context"`
	// CreatedAt is when the chat was started.
	CreatedAt time.Time `json:"createdAt"`
	// UpdatedAt is when its last message was written.
	UpdatedAt time.Time `json:"updatedAt"`
}

// ChatContext is what a chat is about, as the Market reports it: its context type, the
// order or return, the store and the customer. Ids the Market did not send are 0.
// (To start a chat about something, or to filter by it, use a [Subject].)
type ChatContext struct {
	// Type is [ContextOrder], [ContextReturn] or [ContextDirect] (started by the
	// customer).
	Type ContextType `json:"type"`
	// OrderID is the order, for order and return chats.
	OrderID int64 `json:"orderId,omitempty"`
	// ReturnID is the return, for return chats.
	ReturnID int64 `json:"returnId,omitempty"`
	// CampaignID is the store's campaign.
	CampaignID int64 `json:"campaignId,omitempty"`
	// Customer is the customer as Yandex ID shows them publicly.
	Customer Customer `json:"customer,omitzero"`
}

// Customer is a chat's customer; fields the Market did not send are empty.
type Customer struct {
	// Name is the customer's public name.
	Name string `json:"name,omitempty"`
	// PublicID is the customer's public Yandex ID identifier.
	PublicID string `json:"publicId,omitempty"`
}

// WaitingForSeller reports whether the chat waits for the seller's answer.
func (c Chat) WaitingForSeller() bool { return c.Status == StatusWaitingForPartner }

func chatFromAPI(a *api.Chat) Chat {
	ch := Chat{
		ID:        a.ChatID,
		Type:      a.Type,
		Status:    a.Status,
		CreatedAt: a.CreatedAt,
		UpdatedAt: a.UpdatedAt,
		Context: ChatContext{
			Type:       a.Context.Type,
			OrderID:    a.Context.OrderID,
			ReturnID:   a.Context.ReturnID,
			CampaignID: a.Context.CampaignID,
			Customer:   Customer{Name: a.Context.Customer.Name, PublicID: a.Context.Customer.PublicID},
		},
	}
	if ch.Context.OrderID == 0 {
		ch.Context.OrderID = a.OrderID
	}
	return ch
}

// ChatPage is one page of chats.
type ChatPage struct {
	// Chats are the page's chats.
	Chats []Chat
	// NextPageToken resumes the listing after this page; empty on the last page.
	NextPageToken string
}

// CreateChat starts a chat about an order or a return (see [Order] and [Return]) and
// returns its id. If a chat about it exists already, the Market returns that one, so
// calling again is safe (and the client retries it like a read).
func (c *Client) CreateChat(ctx context.Context, businessID int64, about Subject) (int64, error) {
	if err := validateID("businessId", businessID); err != nil {
		return 0, err
	}
	if err := about.validate("subject"); err != nil {
		return 0, err
	}
	subject := about.api()
	req, err := api.NewCreateChatRequest(c.server, businessID, api.CreateChatRequest{Context: &subject})
	res, err := get(ctx, c, OpCreateChat, businessID, req, err, func(r *api.CreateChatResult) bool { return r.ChatID > 0 })
	if err != nil {
		return 0, err
	}
	return res.ChatID, nil
}

// GetChat returns one chat.
func (c *Client) GetChat(ctx context.Context, businessID, chatID int64) (Chat, error) {
	if err := validateID("businessId", businessID); err != nil {
		return Chat{}, err
	}
	if err := validateID("chatId", chatID); err != nil {
		return Chat{}, err
	}
	req, err := api.NewGetChatRequest(c.server, businessID, &api.GetChatParams{ChatID: chatID})
	res, err := get(ctx, c, OpGetChat, businessID, req, err, func(r *api.Chat) bool { return r.ChatID > 0 })
	if err != nil {
		return Chat{}, err
	}
	return chatFromAPI(res), nil
}

// ListChats returns one page of the chats that match filter. Pass the page's
// NextPageToken in the next PageRequest to go on; it may be stored and used later.
func (c *Client) ListChats(ctx context.Context, businessID int64, filter Filter, page PageRequest) (*ChatPage, error) {
	body, err := checkListing(businessID, filter, page)
	if err != nil {
		return nil, err
	}
	return c.listChats(ctx, businessID, body, page)
}

func checkListing(businessID int64, filter Filter, page PageRequest) (api.GetChatsRequest, error) {
	if err := validateID("businessId", businessID); err != nil {
		return api.GetChatsRequest{}, err
	}
	if page.Limit < 0 || page.Limit > MaxPageSize {
		return api.GetChatsRequest{}, &ValidationError{Field: "limit", Rule: fmt.Sprintf("must be between 1 and %d (0 for the Market's default)", MaxPageSize), Value: page.Limit}
	}
	return filter.request()
}

func (c *Client) listChats(ctx context.Context, businessID int64, body api.GetChatsRequest, page PageRequest) (*ChatPage, error) {
	var params api.GetChatsParams
	if page.Limit > 0 {
		limit := int32(page.Limit)
		params.Limit = &limit
	}
	if page.Token != "" {
		params.PageToken = &page.Token
	}
	req, err := api.NewGetChatsRequest(c.server, businessID, &params, body)
	res, err := get[api.ChatsPage](ctx, c, OpGetChats, businessID, req, err, nil)
	if err != nil {
		return nil, err
	}
	out := &ChatPage{Chats: make([]Chat, len(res.Chats)), NextPageToken: res.Paging.NextPageToken}
	for i := range res.Chats {
		out.Chats[i] = chatFromAPI(&res.Chats[i])
	}
	return out, nil
}

// ChatPages iterates over the pages of chats that match filter, from start (the first
// page when start.Token is empty; a stored NextPageToken resumes a listing that
// failed). start.Limit 0 asks for pages of [MaxPageSize]. A chat an earlier page held
// is dropped from a later one, so each chat comes once even when the Market repeats
// items (a chat that moves while the listing pages). On a failure it yields the error
// once and stops; so does a listing that makes no progress (a [*PagingError]).
// Breaking out of the loop sends no further request.
//
//	for page, err := range client.ChatPages(ctx, businessID, filter, chatclient.PageRequest{Token: saved}) {
//		if err != nil {
//			return err // saved resumes from here
//		}
//		handle(page.Chats)
//		saved = page.NextPageToken
//	}
func (c *Client) ChatPages(ctx context.Context, businessID int64, filter Filter, start PageRequest) iter.Seq2[*ChatPage, error] {
	if start.Limit == 0 {
		start.Limit = MaxPageSize
	}
	body, err := checkListing(businessID, filter, start)
	if err != nil {
		return func(yield func(*ChatPage, error) bool) { yield(nil, err) }
	}
	return pages(OpGetChats, start, func(req PageRequest) (*ChatPage, string, error) {
		p, err := c.listChats(ctx, businessID, body, req)
		if err != nil {
			return nil, "", err
		}
		return p, p.NextPageToken, nil
	}, func(p *ChatPage, seen *idSet) int {
		p.Chats = dropSeen(p.Chats, seen, func(c *Chat) int64 { return c.ID })
		return len(p.Chats)
	})
}

// Chats iterates over every chat that matches filter, page after page (see
// [Client.ChatPages], which also resumes a listing after a failure).
//
//	for chat, err := range client.Chats(ctx, businessID, filter) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(chat.ID)
//	}
func (c *Client) Chats(ctx context.Context, businessID int64, filter Filter) iter.Seq2[Chat, error] {
	return items(c.ChatPages(ctx, businessID, filter, PageRequest{}), func(p *ChatPage) []Chat { return p.Chats })
}
