package chattest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
)

// Start starts a fake Market for the test t and closes it when the test ends. It fails
// the test if an option is invalid.
//
//	srv := chattest.Start(t, chattest.WithDefaultFixture())
//	client, _ := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := newServer(opts...)
	if err != nil {
		t.Fatalf("chattest: %v", err)
	}
	if err := s.start(); err != nil {
		t.Fatalf("chattest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Clock is a fake clock for tests that the fake Market and a chatclient share: pass it
// to [WithClock] as clock.Now and to chatclient.WithClock. Sleep advances it at once
// and records the wait, so a retry or a quota wait takes no real time and is exact.
// It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

var _ chatclient.Clock = (*Clock)(nil)

// NewClock returns a clock set to start (truncated to the second, like the Market's
// Date and rate-limit headers).
func NewClock(start time.Time) *Clock { return &Clock{now: start.Truncate(time.Second)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances the clock by d at once, unless ctx is done.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	return nil
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
}

// Sleeps returns the waits Sleep was asked for, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// SpentQuota answers 420 as the Market does when an operation's hourly quota is spent:
// X-RateLimit-Resource-Remaining 0 and -Until the reset time (and Limit).
func SpentQuota(limit int64, until time.Time) Fault {
	return Fault{Status: 420, Body: errorBody("LIMIT_EXCEEDED", fmt.Sprintf("Hit rate limit of %d requests per hour", limit)),
		Header: http.Header{
			"X-Ratelimit-Resource-Limit":     {strconv.FormatInt(limit, 10)},
			"X-Ratelimit-Resource-Remaining": {"0"},
			"X-Ratelimit-Resource-Until":     {until.UTC().Format(http.TimeFormat)},
		}}
}

// Chat is a chat to seed the fake with ([WithChat]), in the client's vocabulary and
// without pointers. Zero fields take defaults: Type CHAT, Status NEW, CreatedAt and
// UpdatedAt the server's now (Age and Idle, when set, put them that far in the past).
type Chat struct {
	// ID is the chat's id (at least 1, new in the business).
	ID int64
	// Type is the chat's type.
	Type chatclient.ChatType
	// Status is where the chat stands.
	Status chatclient.ChatStatus
	// About is what the chat is about: chatclient.Order(id) or chatclient.Return(id)
	// (the return's order given as OrderID); zero for a DIRECT chat.
	About chatclient.Subject
	// OrderID is the order of a return chat.
	OrderID int64
	// CampaignID is the store's campaign.
	CampaignID int64
	// Customer is the customer's public name.
	Customer string
	// Age is how long ago the chat was started; Idle, how long ago its last message was
	// written.
	Age, Idle time.Duration
}

// WithChat seeds chats into a business, in the client's vocabulary.
func WithChat(businessID int64, chats ...Chat) Option {
	return func(s *Server) error {
		now := s.now().Truncate(time.Second)
		for _, c := range chats {
			a := api.Chat{ChatID: c.ID, Type: c.Type, Status: c.Status, CreatedAt: now.Add(-c.Age), UpdatedAt: now.Add(-c.Idle)}
			if a.Type == "" {
				a.Type = chatclient.TypeChat
			}
			if a.Status == "" {
				a.Status = chatclient.StatusNew
			}
			a.Context = api.ChatFullContext{Type: chatclient.ContextDirect, CampaignID: c.CampaignID, Customer: api.ChatCustomer{Name: c.Customer}}
			switch c.About.Type {
			case chatclient.ContextOrder:
				a.Context.Type, a.Context.OrderID = chatclient.ContextOrder, c.About.ID
			case chatclient.ContextReturn:
				a.Context.Type, a.Context.ReturnID, a.Context.OrderID = chatclient.ContextReturn, c.About.ID, c.OrderID
			case "":
			default:
				return fmt.Errorf("chattest: chat %d: About must be chatclient.Order or chatclient.Return", c.ID)
			}
			if err := s.AddChat(businessID, a); err != nil {
				return err
			}
		}
		return nil
	}
}
