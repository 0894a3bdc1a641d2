package chatclient_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestCreateGetAndListAgainstTheFake(t *testing.T) {
	srv := newFake(t)
	srv.AddOrder(100, chattest.Order{OrderID: 424242, CampaignID: 21000001, Customer: api.ChatCustomer{Name: "Olga V."}})
	c := clientFor(t, srv)
	ctx := context.Background()

	id, err := c.CreateChat(ctx, 100, chatclient.Order(424242))
	require.NoError(t, err)
	again, err := c.CreateChat(ctx, 100, chatclient.Order(424242))
	require.NoError(t, err)
	assert.Equal(t, id, again, "the same order gives the same chat")

	ch, err := c.GetChat(ctx, 100, id)
	require.NoError(t, err)
	assert.Equal(t, api.ChatStatusNew, ch.Status)
	assert.Equal(t, int64(424242), ch.Context.OrderID)
	assert.Equal(t, "Olga V.", ch.Context.Customer.Name)

	// Every chat waiting for the seller, across pages, matches the fixture.
	waiting := chatclient.Filter{Statuses: []api.ChatStatus{api.ChatStatusWaitingForPartner}, ContextTypes: []api.ChatContextType{api.ChatContextTypeOrder, api.ChatContextTypeReturn}}
	var want []int64
	for _, fc := range fixtureChats(t, 100) {
		if fc.Status == api.ChatStatusWaitingForPartner && fc.Context.Type != api.ChatContextTypeDirect {
			want = append(want, fc.ChatID)
		}
	}
	var got []int64
	for ch, err := range c.Chats(ctx, 100, waiting) {
		require.NoError(t, err)
		assert.True(t, ch.WaitingForSeller())
		got = append(got, ch.ID)
	}
	assert.Equal(t, want, got)

	// All chats, resumed page by page with stored tokens, includes the new one once.
	var all []int64
	page := chatclient.PageRequest{Limit: 15}
	pages := 0
	for {
		p, err := c.ListChats(ctx, 100, chatclient.Filter{}, page)
		require.NoError(t, err)
		pages++
		for _, ch := range p.Chats {
			all = append(all, ch.ID)
		}
		if p.NextPageToken == "" {
			break
		}
		page.Token = p.NextPageToken
	}
	assert.Len(t, all, len(fixtureChats(t, 100))+1)
	assert.Equal(t, id, all[len(all)-1])
	assert.Equal(t, (len(all)+14)/15, pages)

	var filtered []int64
	for ch, err := range c.Chats(ctx, 100, chatclient.Filter{Subjects: []chatclient.Subject{chatclient.Order(424242)}}) {
		require.NoError(t, err)
		filtered = append(filtered, ch.ID)
	}
	assert.Equal(t, []int64{id}, filtered)
}

func TestErrorsFromTheFake(t *testing.T) {
	srv := newFake(t)
	ctx := context.Background()

	wrong, err := chatclient.New(chatclient.APIKey("not-the-token"), chatclient.WithBaseURL(srv.URL))
	require.NoError(t, err)
	_, err = wrong.GetChat(ctx, 100, 5000001)
	assert.ErrorIs(t, err, chatclient.ErrForbidden)

	// A proxy that drops the credentials: the Market answers 401.
	stripping := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Del("Api-Key")
		return http.DefaultTransport.RoundTrip(r)
	})}
	_, err = clientFor(t, srv, chatclient.WithHTTPClient(stripping)).GetChat(ctx, 100, 5000001)
	assert.ErrorIs(t, err, chatclient.ErrUnauthorized)

	c := clientFor(t, srv)
	_, err = c.GetChat(ctx, 100, 1)
	assert.ErrorIs(t, err, chatclient.ErrNotFound)
	var ae *chatclient.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "NOT_FOUND", ae.Errors[0].Code)
	assert.Equal(t, int64(1000), ae.RateLimit.Limit)

	_, err = c.CreateChat(ctx, 100, chatclient.Return(1))
	assert.ErrorIs(t, err, chatclient.ErrNotFound)

	_, err = c.ListChats(ctx, 100, chatclient.Filter{}, chatclient.PageRequest{Token: "not-a-token"})
	assert.ErrorIs(t, err, chatclient.ErrBadRequest)
	assert.Contains(t, err.Error(), "page_token")

	assert.Len(t, srv.Requests(), 5, "none of these was retried")
}

func TestParallelLimit420sAreAbsorbed(t *testing.T) {
	srv := newFake(t)
	for range 40 {
		srv.Script("getChat", chattest.Delay(30*time.Millisecond))
	}
	// No limit in the client, so the fake's limit of 4 is hit.
	policy := chatclient.DefaultRetryPolicy()
	policy.MaxAttempts = 10
	burst(t, clientFor(t, srv, chatclient.WithMaxInFlight(0), chatclient.WithRetryPolicy(policy)), 16)
	var limited int
	for _, r := range srv.Requests() {
		if r.Status == 420 {
			limited++
		}
	}
	assert.Positive(t, limited, "the fake refused parallel requests")

	// With the default limit of 4 in the client, the fake refuses none.
	srv.ResetRequests()
	for range 40 {
		srv.Script("getChat", chattest.Delay(10*time.Millisecond))
	}
	burst(t, clientFor(t, srv), 16)
	for _, r := range srv.Requests() {
		assert.Equal(t, 200, r.Status)
	}
}

// burst makes n getChat calls at once and expects each to succeed.
func burst(t *testing.T, c *chatclient.Client, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.GetChat(context.Background(), 100, 5000001)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
}

func TestQuotaIsPacedOrReported(t *testing.T) {
	t.Run("a short window is waited out", func(t *testing.T) {
		srv := newFake(t, chattest.WithQuota("getChats", chattest.Quota{Limit: 5, Window: time.Second}))
		c := clientFor(t, srv)
		for range 12 {
			_, err := c.ListChats(context.Background(), 100, chatclient.Filter{}, chatclient.PageRequest{Limit: 1})
			require.NoError(t, err)
		}
		var refused int
		for _, r := range srv.Requests() {
			if r.Status == 420 {
				refused++
			}
		}
		assert.Equal(t, 0, refused, "the client waits for the reset instead of sending")
		reqs := srv.Requests()
		assert.GreaterOrEqual(t, reqs[len(reqs)-1].At.Sub(reqs[0].At), time.Second, "12 calls at 5 a second span at least two windows")
	})
	t.Run("a far reset is reported at once", func(t *testing.T) {
		srv := newFake(t, chattest.WithQuota("getChat", chattest.Quota{Limit: 2, Window: time.Hour}))
		c := clientFor(t, srv, chatclient.WithMaxWait(0))
		for range 2 {
			_, err := c.GetChat(context.Background(), 100, 5000001)
			require.NoError(t, err)
		}
		_, err := c.GetChat(context.Background(), 100, 5000001)
		var rle *chatclient.RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Nil(t, rle.Err, "the client knew from the last answer and sent nothing")
		assert.Equal(t, int64(2), rle.Limit)
		assert.Len(t, srv.Requests(), 2)

		// A second client, with no memory of the quota, gets the Market's 420.
		_, err = clientFor(t, srv, chatclient.WithMaxWait(0)).GetChat(context.Background(), 100, 5000001)
		require.ErrorAs(t, err, &rle)
		require.NotNil(t, rle.Err)
		assert.Equal(t, 420, rle.Err.StatusCode)
		assert.ErrorIs(t, err, chatclient.ErrRateLimited)
	})
}

func TestFaultsAreRetriedOrReported(t *testing.T) {
	srv := newFake(t)
	c := clientFor(t, srv, chatclient.WithRetryPolicy(fastPolicy()))
	srv.Script("getChat", chattest.HTML502(), chattest.Drop(), chattest.Truncated(), chattest.StatusFault(503, "UNAVAILABLE", "x"))
	ch, err := c.GetChat(context.Background(), 100, 5000001)
	require.NoError(t, err, "four failures, then the answer")
	assert.Equal(t, int64(5000001), ch.ID)
	assert.Len(t, srv.Requests(), 5)

	srv.Script("getChat", chattest.NotJSON())
	_, err = c.GetChat(context.Background(), 100, 5000001)
	var re *chatclient.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "OK", re.Body)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
