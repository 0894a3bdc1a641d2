package chatclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/ymchat/ymchat/api"
)

// Operation names, as the API and the errors call them.
const (
	OpCreateChat = "createChat"
	OpGetChat    = "getChat"
	OpGetChats   = "getChats"
)

// MaxPageSize is the most chats one getChats page may hold.
const MaxPageSize = 20

// Chat is one chat between the seller and a customer.
type Chat struct {
	// ID is the chat's id.
	ID int64
	// Type is CHAT (with a customer) or ARBITRAGE (a dispute); values the Market adds
	// later come through as they are.
	Type api.ChatType
	// Status says who should answer next, or that the chat is over.
	Status api.ChatStatus
	// Context says what the chat is about.
	Context ChatContext
	// CreatedAt is when the chat was started.
	CreatedAt time.Time
	// UpdatedAt is when its last message was written.
	UpdatedAt time.Time
}

// ChatContext says what a chat is about. Ids the Market did not send are 0.
type ChatContext struct {
	// Type is ORDER, RETURN or DIRECT (started by the customer).
	Type api.ChatContextType
	// OrderID is the order, for order and return chats.
	OrderID int64
	// ReturnID is the return, for return chats.
	ReturnID int64
	// CampaignID is the store's campaign.
	CampaignID int64
	// Customer is the customer as Yandex ID shows them publicly.
	Customer Customer
}

// Customer is a chat's customer; fields the Market did not send are empty.
type Customer struct {
	// Name is the customer's public name.
	Name string
	// PublicID is the customer's public Yandex ID identifier.
	PublicID string
}

// WaitingForSeller reports whether the chat waits for the seller's answer.
func (c Chat) WaitingForSeller() bool { return c.Status == api.ChatStatusWaitingForPartner }

func chatFromAPI(a api.Chat) Chat {
	ch := Chat{
		ID:        a.ChatID,
		Type:      a.Type,
		Status:    a.Status,
		CreatedAt: a.CreatedAt,
		UpdatedAt: a.UpdatedAt,
		Context: ChatContext{
			Type:       a.Context.Type,
			OrderID:    deref(a.Context.OrderID),
			ReturnID:   deref(a.Context.ReturnID),
			CampaignID: deref(a.Context.CampaignID),
		},
	}
	if ch.Context.OrderID == 0 {
		ch.Context.OrderID = deref(a.OrderID)
	}
	if cu := a.Context.Customer; cu != nil {
		ch.Context.Customer = Customer{Name: deref(cu.Name), PublicID: deref(cu.PublicID)}
	}
	return ch
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Order names an order to start a chat about, or to filter chats by.
func Order(orderID int64) api.ChatContext {
	return api.ChatContext{Type: api.ChatContextIdentifiableTypeOrder, ID: orderID}
}

// Return names a return to start a chat about, or to filter chats by.
func Return(returnID int64) api.ChatContext {
	return api.ChatContext{Type: api.ChatContextIdentifiableTypeReturn, ID: returnID}
}

// Filter selects chats. A chat must match every filter set (AND); a nil list does not
// restrict. A list that is set must hold at least one value and no value twice.
type Filter struct {
	// Contexts keeps chats about these orders or returns (see [Order] and [Return]).
	Contexts []api.ChatContext
	// ContextTypes keeps chats with these context types.
	ContextTypes []api.ChatContextType
	// Types keeps chats of these types.
	Types []api.ChatType
	// Statuses keeps chats in these statuses.
	Statuses []api.ChatStatus
	// OrderIDs keeps chats about these orders.
	//
	// Deprecated: the Market deprecates this filter; use Contexts with [Order].
	OrderIDs []int64
}

// PageRequest asks for one page of chats.
type PageRequest struct {
	// Limit is how many chats the page may hold, 1 to [MaxPageSize]; 0 leaves it to
	// the Market.
	Limit int
	// Token is the NextPageToken of the previous page; empty for the first page.
	Token string
}

// Page is one page of chats.
type Page struct {
	// Chats are the page's chats.
	Chats []Chat
	// NextPageToken resumes the listing after this page; empty on the last page.
	NextPageToken string
}

// CreateChat starts a chat about an order or a return (see [Order] and [Return]) and
// returns its id. If a chat about it exists already, the Market returns that one, so
// calling again is safe (and the client retries it like a read).
func (c *Client) CreateChat(ctx context.Context, businessID int64, about api.ChatContext) (int64, error) {
	if err := validateBusiness(businessID); err != nil {
		return 0, err
	}
	if err := validateContext("context", about); err != nil {
		return 0, err
	}
	resp, cl, err := c.roundTrip(ctx, OpCreateChat, businessID, func(ctx context.Context) (*http.Response, error) {
		return c.api.CreateChat(ctx, businessID, api.CreateChatRequest{Context: &about})
	})
	if err != nil {
		return 0, err
	}
	defer cl.done()
	var env api.CreateChatEnvelope
	err = json.Unmarshal(cl.body(), &env)
	if err == nil && (env.Result == nil || env.Result.ChatID < 1) {
		err = errors.New("the answer holds no chat id")
	}
	if err != nil {
		return 0, cl.responseError(resp, err)
	}
	return env.Result.ChatID, nil
}

// GetChat returns one chat.
func (c *Client) GetChat(ctx context.Context, businessID, chatID int64) (Chat, error) {
	if err := validateBusiness(businessID); err != nil {
		return Chat{}, err
	}
	if chatID < 1 {
		return Chat{}, &ValidationError{Field: "chatId", Rule: "must be at least 1", Value: chatID}
	}
	resp, cl, err := c.roundTrip(ctx, OpGetChat, businessID, func(ctx context.Context) (*http.Response, error) {
		return c.api.GetChat(ctx, businessID, &api.GetChatParams{ChatID: chatID})
	})
	if err != nil {
		return Chat{}, err
	}
	defer cl.done()
	var env api.GetChatEnvelope
	err = json.Unmarshal(cl.body(), &env)
	if err == nil && env.Result == nil {
		err = errors.New("the answer holds no chat")
	}
	if err != nil {
		return Chat{}, cl.responseError(resp, err)
	}
	return chatFromAPI(*env.Result), nil
}

// ListChats returns one page of the chats that match filter. Pass the page's
// NextPageToken in the next PageRequest to go on; it may be stored and used later.
func (c *Client) ListChats(ctx context.Context, businessID int64, filter Filter, page PageRequest) (*Page, error) {
	if err := validateBusiness(businessID); err != nil {
		return nil, err
	}
	if page.Limit < 0 || page.Limit > MaxPageSize {
		return nil, &ValidationError{Field: "limit", Rule: fmt.Sprintf("must be between 1 and %d (0 for the Market's default)", MaxPageSize), Value: page.Limit}
	}
	body, err := filter.request()
	if err != nil {
		return nil, err
	}
	return c.listChats(ctx, businessID, body, page)
}

func (c *Client) listChats(ctx context.Context, businessID int64, body api.GetChatsRequest, page PageRequest) (*Page, error) {
	var params api.GetChatsParams
	if page.Limit > 0 {
		limit := int32(page.Limit)
		params.Limit = &limit
	}
	if page.Token != "" {
		params.PageToken = &page.Token
	}
	resp, cl, err := c.roundTrip(ctx, OpGetChats, businessID, func(ctx context.Context) (*http.Response, error) {
		return c.api.GetChats(ctx, businessID, &params, body)
	})
	if err != nil {
		return nil, err
	}
	defer cl.done()
	var env api.GetChatsEnvelope
	err = json.Unmarshal(cl.body(), &env)
	if err == nil && env.Result == nil {
		err = errors.New("the answer holds no result")
	}
	if err != nil {
		return nil, cl.responseError(resp, err)
	}
	res := env.Result
	out := &Page{Chats: make([]Chat, len(res.Chats))}
	for i, ch := range res.Chats {
		out.Chats[i] = chatFromAPI(ch)
	}
	if res.Paging != nil && res.Paging.NextPageToken != nil {
		out.NextPageToken = *res.Paging.NextPageToken
	}
	return out, nil
}

// Chats iterates over every chat that matches filter, fetching pages of [MaxPageSize]
// as it goes. It stops after the last page. On a failure it yields the error once and
// stops; a page token the Market repeats is such a failure, not an endless loop.
// Breaking out of the loop sends no further request.
//
//	for chat, err := range client.Chats(ctx, businessID, filter) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(chat.ID)
//	}
func (c *Client) Chats(ctx context.Context, businessID int64, filter Filter) iter.Seq2[Chat, error] {
	return func(yield func(Chat, error) bool) {
		if err := validateBusiness(businessID); err != nil {
			yield(Chat{}, err)
			return
		}
		body, err := filter.request()
		if err != nil {
			yield(Chat{}, err)
			return
		}
		var loop loopDetector
		page := PageRequest{Limit: MaxPageSize}
		for {
			p, err := c.listChats(ctx, businessID, body, page)
			if err != nil {
				yield(Chat{}, err)
				return
			}
			for _, ch := range p.Chats {
				if !yield(ch, nil) {
					return
				}
			}
			if p.NextPageToken == "" {
				return
			}
			if loop.repeated(p.NextPageToken) {
				yield(Chat{}, &ResponseError{Operation: OpGetChats, StatusCode: http.StatusOK, Body: excerpt([]byte(p.NextPageToken)),
					Err: ErrRepeatedPageToken})
				return
			}
			page.Token = p.NextPageToken
		}
	}
}

// loopDetector finds a page token the Market hands out again, in constant memory (so
// that iterating stays flat however many pages there are): a token equal to the one
// before is caught at once, and a longer cycle within about twice its length, by
// comparing each token with a checkpoint moved at doubling intervals (Brent's method).
type loopDetector struct {
	prev, checkpoint string
	steps, power     int
}

func (d *loopDetector) repeated(token string) bool {
	if token == d.prev || (d.checkpoint != "" && token == d.checkpoint) {
		return true
	}
	d.prev = token
	d.steps++
	if d.steps >= d.power {
		d.checkpoint, d.power, d.steps = token, max(1, 2*d.power), 0
	}
	return false
}

// ErrRepeatedPageToken is wrapped by the error [Client.Chats] yields when the Market
// hands out a page token it gave before, which would otherwise loop forever.
var ErrRepeatedPageToken = errors.New("the Market repeated a page token")

// roundTrip sends one call through the generated client and types a non-2xx answer.
func (c *Client) roundTrip(ctx context.Context, op string, business int64, send func(context.Context) (*http.Response, error)) (*http.Response, *call, error) {
	cl := &call{op: op, business: business}
	resp, err := send(context.WithValue(ctx, callKey{}, cl))
	if err != nil {
		return nil, cl, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := newAPIError(op, resp, cl.body())
		cl.done()
		return nil, cl, err
	}
	return resp, cl, nil
}

func (cl *call) responseError(resp *http.Response, err error) error {
	return &ResponseError{Operation: cl.op, StatusCode: resp.StatusCode, Body: excerpt(cl.body()), Err: err}
}
