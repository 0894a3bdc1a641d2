package chattest

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ymchat/ymchat/api"
)

// DefaultFixture returns the data set [WithDefaultFixture] loads: three businesses
// (100, 200 and 300) with 130, 45 and 12 chats about orders, returns and direct
// questions, in every status and type, spread over six weeks; orders and returns
// without a chat yet, to start chats about; and conversations in some of business
// 100's chats (see the package documentation). Each call returns a copy of its own.
func DefaultFixture() []byte { return bytes.Clone(defaultFixture) }

//go:embed testdata/market.json
var defaultFixture []byte

// Fixture is the JSON form of a fake Market's data, as [WithFixture] reads it.
type Fixture struct {
	// Now, when set, is the moment the fixture's dates were written for: on loading,
	// every date moves by the server's now minus Now, so that the data keeps its ages.
	Now time.Time `json:"now,omitzero"`
	// Businesses are the seller accounts and their data.
	Businesses []FixtureBusiness `json:"businesses"`
}

// FixtureBusiness is one business of a [Fixture].
type FixtureBusiness struct {
	// BusinessID is the business's id.
	BusinessID int64 `json:"businessId"`
	// Orders are the orders chats can be started about.
	Orders []Order `json:"orders"`
	// Returns are the returns chats can be started about.
	Returns []Return `json:"returns"`
	// Chats are the business's chats, in the API's form.
	Chats []api.Chat `json:"chats"`
	// Conversations are the messages of some of the chats.
	Conversations []Conversation `json:"conversations,omitempty"`
}

// Order is an order of a business: createChat can start a chat about it.
type Order struct {
	// OrderID is the order's id.
	OrderID int64 `json:"orderId"`
	// CampaignID is the store the order was placed in.
	CampaignID int64 `json:"campaignId,omitempty"`
	// Customer is who placed it.
	Customer api.ChatCustomer `json:"customer"`
}

// Return is a return of a business: createChat can start a chat about it.
type Return struct {
	// ReturnID is the return's id.
	ReturnID int64 `json:"returnId"`
	// OrderID is the order being returned; it should be one of the business's orders.
	OrderID int64 `json:"orderId"`
}

// business is one business's data; chats are kept in chat id order, each chat's
// messages oldest first.
type business struct {
	orders  map[int64]Order
	returns map[int64]Return
	chats   []api.Chat
	msgs    map[int64][]api.ChatMessage // by chat id
	msgIDs  map[int64]bool              // every message id of the business
	nextMsg int64                       // the next message id
}

type store struct {
	mu       sync.Mutex
	biz      map[int64]*business
	nextID   int64
	files    map[string]storedFile // by file id
	nextFile int
	events   []Event      // every event, the ground truth for tests
	order    listingOrder // the order getChats lists chats in
}

func newStore() *store {
	return &store{biz: map[int64]*business{}, nextID: 1, files: map[string]storedFile{}}
}

func (s *store) business(id int64) *business {
	b := s.biz[id]
	if b == nil {
		b = &business{orders: map[int64]Order{}, returns: map[int64]Return{},
			msgs: map[int64][]api.ChatMessage{}, msgIDs: map[int64]bool{}, nextMsg: 1}
		s.biz[id] = b
	}
	return b
}

func (s *store) load(data []byte, now time.Time) error {
	var f Fixture
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("chattest: fixture: %w", err)
	}
	if !f.Now.IsZero() {
		f.shift(now.Truncate(time.Second).Sub(f.Now))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fb := range f.Businesses {
		if fb.BusinessID < 1 {
			return fmt.Errorf("chattest: fixture: businessId %d must be at least 1", fb.BusinessID)
		}
		b := s.business(fb.BusinessID)
		for _, o := range fb.Orders {
			b.orders[o.OrderID] = o
		}
		for _, r := range fb.Returns {
			b.returns[r.ReturnID] = r
		}
		for _, c := range fb.Chats {
			if err := s.addChatLocked(fb.BusinessID, c); err != nil {
				return err
			}
		}
		for _, c := range fb.Conversations {
			if err := s.addConversationLocked(fb.BusinessID, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// shift moves every date of the fixture by d.
func (f *Fixture) shift(d time.Duration) {
	for i := range f.Businesses {
		b := &f.Businesses[i]
		for j := range b.Chats {
			b.Chats[j].CreatedAt = b.Chats[j].CreatedAt.Add(d)
			b.Chats[j].UpdatedAt = b.Chats[j].UpdatedAt.Add(d)
		}
		for j := range b.Conversations {
			for k := range b.Conversations[j].Messages {
				m := &b.Conversations[j].Messages[k]
				m.CreatedAt = m.CreatedAt.Add(d)
			}
		}
	}
}

func (s *store) addChatLocked(businessID int64, c api.Chat) error {
	if c.ChatID < 1 {
		return fmt.Errorf("chattest: chat id %d must be at least 1", c.ChatID)
	}
	for _, b := range s.biz {
		if _, found := b.find(c.ChatID); found {
			return fmt.Errorf("chattest: chat %d exists already", c.ChatID)
		}
	}
	b := s.business(businessID)
	i := sort.Search(len(b.chats), func(i int) bool { return b.chats[i].ChatID > c.ChatID })
	b.chats = slices.Insert(b.chats, i, c)
	s.nextID = max(s.nextID, c.ChatID+1)
	s.recordLocked(Event{Kind: EventChatCreated, BusinessID: businessID, ChatID: c.ChatID, Status: c.Status, At: c.CreatedAt})
	return nil
}

func (b *business) find(chatID int64) (int, bool) {
	return sort.Find(len(b.chats), func(i int) int { return cmp.Compare(chatID, b.chats[i].ChatID) })
}

// errNotFound is a createChat/getChat answer of 404 with its message.
type errNotFound struct{ msg string }

// Error implements error.
func (e errNotFound) Error() string { return e.msg }

// create returns the chat about the context, starting one if there is none, and
// whether it started one.
func (s *store) create(businessID int64, about api.ChatContext, now time.Time) (int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.business(businessID)
	ctx := api.ChatFullContext{Type: api.ChatContextType(about.Type)}
	var orderID int64
	switch about.Type {
	case api.ChatContextIdentifiableTypeOrder:
		if _, ok := b.orders[about.ID]; !ok {
			return 0, false, errNotFound{fmt.Sprintf("order %d not found in business %d", about.ID, businessID)}
		}
		orderID = about.ID
	case api.ChatContextIdentifiableTypeReturn:
		r, ok := b.returns[about.ID]
		if !ok {
			return 0, false, errNotFound{fmt.Sprintf("return %d not found in business %d", about.ID, businessID)}
		}
		orderID = r.OrderID
		ctx.ReturnID = r.ReturnID
	}
	for _, c := range b.chats {
		if c.Context.Type == ctx.Type && c.Context.OrderID == orderID && c.Context.ReturnID == ctx.ReturnID {
			return c.ChatID, false, nil // the documented behaviour: the existing chat comes back
		}
	}
	ctx.OrderID = orderID
	if o, ok := b.orders[orderID]; ok {
		ctx.Customer = o.Customer
		if o.CampaignID > 0 {
			ctx.CampaignID = o.CampaignID
		}
	}
	now = now.Truncate(time.Second)
	c := api.Chat{ChatID: s.nextID, Context: ctx, OrderID: orderID, Type: api.ChatTypeChat, Status: api.ChatStatusNew, CreatedAt: now, UpdatedAt: now}
	s.nextID++
	b.chats = append(b.chats, c) // the newest id sorts last
	s.recordLocked(Event{Kind: EventChatCreated, BusinessID: businessID, ChatID: c.ChatID, Status: c.Status, At: now})
	return c.ChatID, true, nil
}

func (s *store) get(businessID, chatID int64) (api.Chat, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.biz[businessID]
	if b == nil {
		return api.Chat{}, false
	}
	i, ok := b.find(chatID)
	if !ok {
		return api.Chat{}, false
	}
	return b.chats[i], true
}

// list returns up to limit chats of the business after chat id `after` that match f,
// and whether more follow. In an order other than ByID, `after` is the number of chats
// handed out already.
func (s *store) list(businessID int64, f api.GetChatsRequest, after int64, limit int) ([]api.Chat, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.biz[businessID]
	if b == nil {
		return []api.Chat{}, false
	}
	if s.order.order != ByID {
		return s.listByOffsetLocked(b, f, after, limit)
	}
	i := sort.Search(len(b.chats), func(i int) bool { return b.chats[i].ChatID > after })
	out := []api.Chat{}
	for ; i < len(b.chats); i++ {
		if !matches(b.chats[i], f) {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, b.chats[i])
	}
	return out, false
}

// matches applies every filter of the getChats body; filters combine with AND.
func matches(c api.Chat, f api.GetChatsRequest) bool {
	if f.Statuses != nil && !slices.Contains(f.Statuses, c.Status) {
		return false
	}
	if f.Types != nil && !slices.Contains(f.Types, c.Type) {
		return false
	}
	if f.ContextTypes != nil && !slices.Contains(f.ContextTypes, c.Context.Type) {
		return false
	}
	orderID := c.Context.OrderID
	if orderID == 0 {
		orderID = c.OrderID
	}
	if f.OrderIDs != nil && !slices.Contains(f.OrderIDs, orderID) {
		return false
	}
	if f.Contexts != nil && !slices.ContainsFunc(f.Contexts, func(x api.ChatContext) bool {
		switch x.Type {
		case api.ChatContextIdentifiableTypeOrder:
			return c.Context.Type == api.ChatContextTypeOrder && orderID == x.ID
		case api.ChatContextIdentifiableTypeReturn:
			return c.Context.Type == api.ChatContextTypeReturn && c.Context.ReturnID == x.ID
		}
		return false
	}) {
		return false
	}
	return true
}
