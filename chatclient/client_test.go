package chatclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/api"
)

func TestCreateChatSendsContextAndReturnsID(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{"status":"OK","result":{"chatId":777}}`))
	c, _ := newTestClient(t, srv.srv.URL)

	id, err := c.CreateChat(context.Background(), 42, Return(9001))
	require.NoError(t, err)
	assert.Equal(t, int64(777), id)

	got := srv.requests()
	require.Len(t, got, 1)
	assert.Equal(t, http.MethodPost, got[0].method)
	assert.Equal(t, "/v2/businesses/42/chats/new", got[0].path)
	assert.JSONEq(t, `{"context":{"type":"RETURN","id":9001}}`, got[0].body)
	assert.Equal(t, testToken, got[0].header.Get("Api-Key"))
	assert.Equal(t, "application/json", got[0].header.Get("Content-Type"))
}

func TestGetChatMapsEveryField(t *testing.T) {
	srv := newScripted(t, chatReply(5))
	c, _ := newTestClient(t, srv.srv.URL)

	ch, err := c.GetChat(context.Background(), 42, 5)
	require.NoError(t, err)
	msk := time.FixedZone("", 3*3600)
	assert.Equal(t, Chat{
		ID: 5, Type: api.ChatTypeChat, Status: api.ChatStatusWaitingForPartner,
		Context: ChatContext{
			Type: api.ChatContextTypeOrder, OrderID: 1005, CampaignID: 21,
			Customer: Customer{Name: "Ivan", PublicID: "pub1"},
		},
		CreatedAt: time.Date(2026, 11, 1, 10, 0, 0, 0, msk),
		UpdatedAt: time.Date(2026, 11, 2, 11, 30, 0, 0, msk),
	}, ch)
	assert.True(t, ch.WaitingForSeller())
	assert.True(t, ch.CreatedAt.Equal(time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC)))

	got := srv.requests()
	require.Len(t, got, 1)
	assert.Equal(t, http.MethodGet, got[0].method)
	assert.Equal(t, "/v2/businesses/42/chat", got[0].path)
	assert.Equal(t, "chatId=5", got[0].query)
}

func TestListChatsSendsFiltersAndPaging(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{"status":"OK","result":{"chats":[`+chat(1, 11)+`,`+chat(2, 12)+`],"paging":{"nextPageToken":"next-1"}}}`))
	c, _ := newTestClient(t, srv.srv.URL)

	page, err := c.ListChats(context.Background(), 42, Filter{
		Subjects:     []Subject{Order(11), Return(3)},
		ContextTypes: []api.ChatContextType{api.ChatContextTypeOrder, api.ChatContextTypeReturn},
		Types:        []api.ChatType{api.ChatTypeChat},
		Statuses:     []api.ChatStatus{api.ChatStatusNew, api.ChatStatusWaitingForPartner},
	}, PageRequest{Limit: 7, Token: "abc=="})
	require.NoError(t, err)
	require.Len(t, page.Chats, 2)
	assert.Equal(t, int64(1), page.Chats[0].ID)
	assert.Equal(t, int64(12), page.Chats[1].Context.OrderID)
	assert.Equal(t, "next-1", page.NextPageToken)

	got := srv.requests()
	require.Len(t, got, 1)
	assert.Equal(t, http.MethodPost, got[0].method)
	assert.Equal(t, "/v2/businesses/42/chats", got[0].path)
	assert.Equal(t, "limit=7&page_token=abc%3D%3D", got[0].query)
	assert.JSONEq(t, `{"contexts":[{"type":"ORDER","id":11},{"type":"RETURN","id":3}],"contextTypes":["ORDER","RETURN"],"types":["CHAT"],"statuses":["NEW","WAITING_FOR_PARTNER"]}`, got[0].body)
}

func TestListChatsWithoutFiltersSendsEmptyObjectAndNoLimit(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{"status":"OK","result":{"chats":[]}}`))
	c, _ := newTestClient(t, srv.srv.URL)
	page, err := c.ListChats(context.Background(), 1, Filter{}, PageRequest{})
	require.NoError(t, err)
	assert.Empty(t, page.Chats)
	assert.Empty(t, page.NextPageToken, "no paging on the last page")
	got := srv.requests()
	require.Len(t, got, 1)
	assert.JSONEq(t, `{}`, got[0].body)
	assert.Empty(t, got[0].query)
}

func TestValidationRejectsBadInputBeforeTheNetwork(t *testing.T) {
	srv := newScripted(t, chatReply(1))
	c, _ := newTestClient(t, srv.srv.URL)
	ctx := context.Background()
	ok := Filter{}

	cases := []struct {
		name, field string
		call        func() error
	}{
		{"business 0", "businessId", func() error { _, err := c.GetChat(ctx, 0, 1); return err }},
		{"negative business", "businessId", func() error { _, err := c.CreateChat(ctx, -5, Order(1)); return err }},
		{"business 0 on list", "businessId", func() error { _, err := c.ListChats(ctx, 0, ok, PageRequest{}); return err }},
		{"chat 0", "chatId", func() error { _, err := c.GetChat(ctx, 1, 0); return err }},
		{"subject id 0", "subject.id", func() error { _, err := c.CreateChat(ctx, 1, Order(0)); return err }},
		{"DIRECT subject", "subject.type", func() error {
			_, err := c.CreateChat(ctx, 1, Subject{Type: ContextDirect, ID: 3})
			return err
		}},
		{"empty subject type", "subject.type", func() error { _, err := c.CreateChat(ctx, 1, Subject{ID: 3}); return err }},
		{"limit 21", "limit", func() error { _, err := c.ListChats(ctx, 1, ok, PageRequest{Limit: 21}); return err }},
		{"limit -1", "limit", func() error { _, err := c.ListChats(ctx, 1, ok, PageRequest{Limit: -1}); return err }},
		{"empty statuses", "filter.statuses", func() error {
			_, err := c.ListChats(ctx, 1, Filter{Statuses: []api.ChatStatus{}}, PageRequest{})
			return err
		}},
		{"duplicate status", "filter.statuses[2]", func() error {
			_, err := c.ListChats(ctx, 1, Filter{Statuses: []api.ChatStatus{api.ChatStatusNew, api.ChatStatusFinished, api.ChatStatusNew}}, PageRequest{})
			return err
		}},
		{"unknown status", "filter.statuses[0]", func() error {
			_, err := c.ListChats(ctx, 1, Filter{Statuses: []api.ChatStatus{"DONE"}}, PageRequest{})
			return err
		}},
		{"empty types", "filter.types", func() error {
			_, err := c.ListChats(ctx, 1, Filter{Types: []api.ChatType{}}, PageRequest{})
			return err
		}},
		{"unknown type", "filter.types[0]", func() error {
			_, err := c.ListChats(ctx, 1, Filter{Types: []api.ChatType{"GROUP"}}, PageRequest{})
			return err
		}},
		{"duplicate context type", "filter.contextTypes[1]", func() error {
			_, err := c.ListChats(ctx, 1, Filter{ContextTypes: []api.ChatContextType{"DIRECT", "DIRECT"}}, PageRequest{})
			return err
		}},
		{"unknown context type", "filter.contextTypes[0]", func() error {
			_, err := c.ListChats(ctx, 1, Filter{ContextTypes: []api.ChatContextType{"SUPPORT"}}, PageRequest{})
			return err
		}},
		{"empty contexts", "filter.subjects", func() error {
			_, err := c.ListChats(ctx, 1, Filter{Subjects: []Subject{}}, PageRequest{})
			return err
		}},
		{"duplicate context", "filter.subjects[1]", func() error {
			_, err := c.ListChats(ctx, 1, Filter{Subjects: []Subject{Order(4), Order(4)}}, PageRequest{})
			return err
		}},
		{"context in filter with id 0", "filter.subjects[0].id", func() error {
			_, err := c.ListChats(ctx, 1, Filter{Subjects: []Subject{Return(0)}}, PageRequest{})
			return err
		}},
		{"empty order ids", "filter.orderIds", func() error {
			_, err := c.ListChats(ctx, 1, Filter{OrderIDs: []int64{}}, PageRequest{})
			return err
		}},
		{"order id 0", "filter.orderIds[1]", func() error {
			_, err := c.ListChats(ctx, 1, Filter{OrderIDs: []int64{5, 0}}, PageRequest{})
			return err
		}},
		{"duplicate order id", "filter.orderIds[1]", func() error {
			_, err := c.ListChats(ctx, 1, Filter{OrderIDs: []int64{5, 5}}, PageRequest{})
			return err
		}},
		{"iterator with bad filter", "filter.statuses", func() error {
			for _, err := range c.Chats(ctx, 1, Filter{Statuses: []api.ChatStatus{}}) {
				return err
			}
			return nil
		}},
		{"iterator with business 0", "businessId", func() error {
			for _, err := range c.Chats(ctx, 0, ok) {
				return err
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
			assert.ErrorIs(t, err, ErrInvalidInput)
			assert.Contains(t, err.Error(), tc.field)
			assert.NotEmpty(t, ve.Rule)
		})
	}
	assert.Empty(t, srv.requests(), "nothing malformed reaches the network")
}

func TestSentinelsAndErrorText(t *testing.T) {
	cases := []struct {
		status   int
		sentinel error
	}{
		{400, ErrBadRequest}, {401, ErrUnauthorized}, {403, ErrForbidden}, {404, ErrNotFound},
	}
	all := []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrRateLimited, ErrServerError}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := newScripted(t, reply{status: tc.status,
				body:   `{"status":"ERROR","errors":[{"code":"E1","message":"first"},{"code":"E2","message":"second"}]}`,
				header: map[string]string{headerLimit: "1000", headerRemaining: "990", headerUntil: "Thu, 10 Jul 2036 00:42:42 GMT"}})
			c, clock := newTestClient(t, srv.srv.URL)
			_, err := c.GetChat(context.Background(), 3, 4)
			requireNoToken(t, err)
			for _, s := range all {
				assert.Equal(t, s == tc.sentinel, errors.Is(err, s), "errors.Is(%v)", s)
			}
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, OpGetChat, ae.Operation)
			assert.Equal(t, tc.status, ae.StatusCode)
			assert.Equal(t, []ErrorDetail{{"E1", "first"}, {"E2", "second"}}, ae.Errors)
			rl := ae.RateLimit
			assert.True(t, rl.ResetAt.Equal(rl.Until), "without a Date header the reset is Until on the local clock: %v", rl.ResetAt)
			rl.ResetAt = time.Time{}
			assert.Equal(t, RateLimit{Limit: 1000, Remaining: 990, Until: time.Date(2036, 7, 10, 0, 42, 42, 0, time.UTC)}, rl)
			assert.Equal(t, fmt.Sprintf("chatclient: getChat: HTTP %d %s: E1: first; E2: second", tc.status, http.StatusText(tc.status)), err.Error())
			assert.Len(t, srv.requests(), 1, "never retried")
			assert.Empty(t, clock.Sleeps())
		})
	}
}

func TestNonJSONErrorPagesAndBadBodies(t *testing.T) {
	html := "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>" + strings.Repeat("nginx ", 200) + "</body></html>"
	t.Run("HTML 502", func(t *testing.T) {
		srv := newScripted(t, reply{status: 502, body: html, ctype: "text/html"})
		c, _ := newTestClient(t, srv.srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 1, Backoff: DefaultRetryPolicy().Backoff, ParallelBackoff: DefaultRetryPolicy().ParallelBackoff}))
		_, err := c.GetChat(context.Background(), 1, 2)
		requireNoToken(t, err)
		assert.ErrorIs(t, err, ErrServerError)
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 502, ae.StatusCode)
		assert.Empty(t, ae.Errors)
		assert.True(t, strings.HasPrefix(ae.Body, "<html> <head><title>502 Bad Gateway</title>"), ae.Body)
		assert.LessOrEqual(t, len(ae.Body), excerptLen)
		assert.Contains(t, err.Error(), "getChat")
		assert.Contains(t, err.Error(), "502")
		assert.Less(t, len(err.Error()), 400, "bounded")
	})
	t.Run("truncated JSON 200", func(t *testing.T) {
		srv := newScripted(t, jsonReply(200, `{"status":"OK","result":{"chatId":5,"context":{"ty`))
		c, _ := newTestClient(t, srv.srv.URL)
		_, err := c.GetChat(context.Background(), 1, 5)
		var re *ResponseError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, OpGetChat, re.Operation)
		assert.Equal(t, 200, re.StatusCode)
		assert.Contains(t, re.Body, `"chatId":5`)
		assert.Contains(t, err.Error(), "unexpected end of JSON input")
	})
	t.Run("200 that is not JSON", func(t *testing.T) {
		srv := newScripted(t, reply{status: 200, body: "OK", ctype: "text/plain"})
		c, _ := newTestClient(t, srv.srv.URL)
		_, err := c.CreateChat(context.Background(), 1, Order(5))
		var re *ResponseError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, OpCreateChat, re.Operation)
		assert.Equal(t, "OK", re.Body)
	})
	t.Run("truncated JSON 404", func(t *testing.T) {
		srv := newScripted(t, jsonReply(404, `{"status":"ERROR","errors":[{"co`))
		c, _ := newTestClient(t, srv.srv.URL)
		_, err := c.GetChat(context.Background(), 1, 5)
		assert.ErrorIs(t, err, ErrNotFound)
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, `{"status":"ERROR","errors":[{"co`, ae.Body)
	})
	t.Run("body over the cap", func(t *testing.T) {
		big := `{"status":"OK","result":{"chats":[],"pad":"` + strings.Repeat("x", MaxResponseBytes) + `"}}`
		srv := newScripted(t, jsonReply(200, big))
		c, _ := newTestClient(t, srv.srv.URL)
		_, err := c.ListChats(context.Background(), 1, Filter{}, PageRequest{})
		var re *ResponseError
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, errTooLarge)
		assert.Len(t, srv.requests(), 1, "a too-large body is not retried")
	})
}

func TestUnknownEnumValuesAndFieldsDecode(t *testing.T) {
	body := `{"status":"OK","newField":{"a":1},"result":{"chats":[{"chatId":9,"orderId":77,"context":{"type":"SUPPORT","future":1},
		"type":"GROUP","status":"WAITING_FOR_ROBOT","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","x":[1]}],
		"paging":{"nextPageToken":"","total":3}}}`
	srv := newScripted(t, jsonReply(200, body))
	c, _ := newTestClient(t, srv.srv.URL)
	page, err := c.ListChats(context.Background(), 1, Filter{}, PageRequest{})
	require.NoError(t, err)
	require.Len(t, page.Chats, 1)
	ch := page.Chats[0]
	assert.Equal(t, api.ChatStatus("WAITING_FOR_ROBOT"), ch.Status)
	assert.Equal(t, api.ChatType("GROUP"), ch.Type)
	assert.Equal(t, api.ChatContextType("SUPPORT"), ch.Context.Type)
	assert.Equal(t, int64(77), ch.Context.OrderID, "the deprecated top-level orderId fills in")
	assert.Empty(t, page.NextPageToken)
}

func TestTokenIsNeverPrinted(t *testing.T) {
	for _, auth := range []Auth{APIKey(testToken), OAuthToken(testToken)} {
		for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			assert.NotContains(t, fmt.Sprintf(format, auth), testToken)
		}
		c, err := New(auth)
		require.NoError(t, err)
		for _, format := range []string{"%v", "%+v", "%s"} {
			assert.NotContains(t, fmt.Sprintf(format, c), testToken)
		}
		assert.Contains(t, c.String(), "redacted")
	}
	_, err := New(APIKey("  "))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "auth", ve.Field)
	_, err = New(Auth{})
	require.ErrorAs(t, err, &ve)
	_, err = New(APIKey("line\nbreak"))
	require.ErrorAs(t, err, &ve)
	assert.NotContains(t, err.Error(), "break")
}

func TestOAuthTokenIsSentAsBearer(t *testing.T) {
	srv := newScripted(t, chatReply(1))
	c, err := New(OAuthToken(testToken), WithBaseURL(srv.srv.URL))
	require.NoError(t, err)
	_, err = c.GetChat(context.Background(), 1, 1)
	require.NoError(t, err)
	got := srv.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "Bearer "+testToken, got[0].header.Get("Authorization"))
	assert.Empty(t, got[0].header.Get("Api-Key"))
}

func TestBaseURLRules(t *testing.T) {
	for _, bad := range []string{"http://api.partner.market.yandex.ru", "http://10.0.0.5:8080", "ftp://x", "not a url", "https://user:pw@host", "/relative"} {
		_, err := New(APIKey(testToken), WithBaseURL(bad))
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, bad)
		assert.Equal(t, "base URL", ve.Field)
		assert.NotContains(t, err.Error(), "pw")
	}
	for _, good := range []string{"https://api.partner.market.yandex.ru", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"} {
		_, err := New(APIKey(testToken), WithBaseURL(good))
		assert.NoError(t, err, good)
	}
}

func TestRedirectToAnotherHostDoesNotCarryToken(t *testing.T) {
	other := newScripted(t, chatReply(1))
	// Same loopback address, other port: another host as far as the token goes.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, testToken, r.Header.Get("Api-Key"), "the API host gets the token")
		http.Redirect(w, r, other.srv.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(api.Close)
	c, _ := newTestClient(t, api.URL)
	ch, err := c.GetChat(context.Background(), 1, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), ch.ID)
	got := other.requests()
	require.Len(t, got, 1)
	assert.Empty(t, got[0].header.Get("Api-Key"), "the token must not follow a redirect to another host")
	assert.Empty(t, got[0].header.Get("Authorization"))
}

func TestRedirectPolicyOfTheCallerStillApplies(t *testing.T) {
	other := newScripted(t, chatReply(1))
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.srv.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(api.Close)
	var checked int
	hc := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		checked++
		assert.Empty(t, req.Header.Get("Api-Key"), "the token is gone before the caller's policy sees the request")
		return http.ErrUseLastResponse
	}}
	c, _ := newTestClient(t, api.URL, WithHTTPClient(hc))
	_, err := c.GetChat(context.Background(), 1, 1)
	var ae *APIError
	require.ErrorAs(t, err, &ae, "the caller chose not to follow: the 302 is the answer")
	assert.Equal(t, http.StatusFound, ae.StatusCode)
	assert.Equal(t, 1, checked)
	assert.Empty(t, other.requests())
}

func TestRedirectBackToTheAPIHostCarriesTheToken(t *testing.T) {
	var hops int
	var apiURL string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops++
		if r.URL.Query().Get("moved") == "" {
			http.Redirect(w, r, apiURL+r.URL.Path+"?"+r.URL.RawQuery+"&moved=1", http.StatusTemporaryRedirect)
			return
		}
		assert.Equal(t, testToken, r.Header.Get("Api-Key"), "a same-origin redirect keeps the token")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"OK","result":` + chat(1, 2) + `}`))
	}))
	t.Cleanup(api.Close)
	apiURL = api.URL
	c, _ := newTestClient(t, api.URL)
	_, err := c.GetChat(context.Background(), 1, 1)
	require.NoError(t, err)
	assert.Equal(t, 2, hops)
}

func TestCustomHTTPClientTransportIsUsed(t *testing.T) {
	srv := newScripted(t, chatReply(1))
	var seenByUser int
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seenByUser++
		r.Header.Set("X-Trace", "t1")
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, _ := newTestClient(t, srv.srv.URL, WithHTTPClient(hc))
	_, err := c.GetChat(context.Background(), 1, 1)
	require.NoError(t, err)
	assert.Equal(t, 1, seenByUser)
	got := srv.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "t1", got[0].header.Get("X-Trace"))
	assert.Equal(t, testToken, got[0].header.Get("Api-Key"))
	assert.Nil(t, hc.CheckRedirect, "the caller's client is not changed")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOptionErrors(t *testing.T) {
	bad := []Option{
		WithRetryPolicy(RetryPolicy{MaxAttempts: -1}),
		WithLimits(nil),
		WithDownloadCredentials("host/path"),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 2, Backoff: Backoff{Initial: time.Second, Max: time.Millisecond, Multiplier: 2}, ParallelBackoff: DefaultRetryPolicy().ParallelBackoff}),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 2, Backoff: DefaultRetryPolicy().Backoff, ParallelBackoff: Backoff{Initial: 1, Max: 2, Multiplier: 0.5}}),
		WithMaxWait(-time.Second),
		WithMaxInFlight(-1),
		WithHTTPClient(nil),
		WithClock(nil),
	}
	for i, o := range bad {
		_, err := New(APIKey(testToken), o)
		var ve *ValidationError
		assert.ErrorAs(t, err, &ve, "option %d", i)
	}
}

func TestQuotaIsReadableAfterASuccess(t *testing.T) {
	srv := newScripted(t, reply{status: 200, body: `{"status":"OK","result":` + chat(7, 70) + `}`, header: map[string]string{
		"X-RateLimit-Resource-Limit": "1000", "X-RateLimit-Resource-Remaining": "993",
		"X-RateLimit-Resource-Until": "Thu, 10 Jul 2036 00:42:42 GMT", "Date": "Thu, 10 Jul 2036 00:12:42 GMT"}})
	c, clock := newTestClient(t, srv.srv.URL)
	ctx := context.Background()
	_, ok := c.Quota(ctx, 3, OpGetChat)
	assert.False(t, ok, "nothing known before the first answer")
	_, err := c.GetChat(ctx, 3, 7)
	require.NoError(t, err)
	q, ok := c.Quota(ctx, 3, OpGetChat)
	require.True(t, ok)
	assert.Equal(t, int64(1000), q.Limit)
	assert.Equal(t, int64(993), q.Remaining)
	assert.Equal(t, time.Date(2036, 7, 10, 0, 42, 42, 0, time.UTC), q.Until.UTC())
	assert.Equal(t, 30*time.Minute, q.ResetAt.Sub(clock.Now()), "the reset on the local clock: Until minus the answer's Date")
	_, ok = c.Quota(ctx, 3, OpGetChats)
	assert.False(t, ok, "per operation")
}

func TestDefaultHTTPClientReusesConnectionsUnderTheInFlightLimit(t *testing.T) {
	// connections counts the connections 50 bursts of 4 parallel requests open: after
	// each burst all 4 connections are idle, and Go's default transport keeps only 2.
	connections := func(opts ...Option) int64 {
		var conns atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Millisecond) // keep 4 in flight
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"OK","result":` + chat(7, 70) + `}`))
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Start()
		defer srv.Close()
		c, err := New(APIKey(testToken), append([]Option{WithBaseURL(srv.URL)}, opts...)...)
		require.NoError(t, err)
		for range 50 {
			var wg sync.WaitGroup
			for range DefaultMaxInFlight {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := c.GetChat(context.Background(), 9, 7)
					assert.NoError(t, err)
				}()
			}
			wg.Wait()
		}
		c.http.CloseIdleConnections()
		return conns.Load()
	}
	ours := connections() // the default HTTP client
	goDefault := connections(WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}))
	t.Logf("connections for 50 bursts of 4: %d with the client's default, %d with Go's (2 idle per host)", ours, goDefault)
	// Go's keeps 2 of 4 idle connections: about 2 new ones a burst. Ours keeps them all
	// (a finished connection returns to the pool a moment after its answer is read, so
	// now and then one more is dialled: the margin allows for that, not for churn).
	assert.Less(t, 4*ours, goDefault, "connections are reused, not churned")
}

func TestBaseURLWithAPathPrefix(t *testing.T) {
	srv := newScripted(t, chatReply(7))
	c, _ := newTestClient(t, srv.srv.URL+"/proxy/market")
	_, err := c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	got := srv.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/proxy/market/v2/businesses/3/chat", got[0].path)
	assert.Equal(t, "chatId=7", got[0].query)

	c, _ = newTestClient(t, srv.srv.URL+"/proxy/market/")
	_, err = c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	assert.Equal(t, "/proxy/market/v2/businesses/3/chat", srv.requests()[1].path, "a trailing slash is the same prefix")
}

func TestUserAgentNamesYmchat(t *testing.T) {
	srv := newScripted(t, chatReply(7))
	c, _ := newTestClient(t, srv.srv.URL)
	_, err := c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	ua := srv.requests()[0].header.Get("User-Agent")
	assert.True(t, strings.HasPrefix(ua, "ymchat/"), ua)
	assert.Contains(t, ua, Version())
}
