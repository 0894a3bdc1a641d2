package chattest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/internal/openapispec"
)

// conformance is a transport that checks every answer of the fake against openapi.yaml.
type conformance struct {
	t *testing.T
}

func (c conformance) RoundTrip(r *http.Request) (*http.Response, error) {
	var reqBody []byte
	if r.Body != nil {
		reqBody, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, nil // a truncated answer is the point of some tests
	}
	router, lerr := openapispec.AnyHostRouter()
	require.NoError(c.t, lerr)
	vr := r.Clone(r.Context())
	vr.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, ferr := router.FindRoute(vr)
	if ferr == nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		verr := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route},
			Status:                 resp.StatusCode,
			Header:                 resp.Header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		})
		assert.NoError(c.t, verr, "the fake's answer %d to %s %s must conform to openapi.yaml", resp.StatusCode, r.Method, r.URL)
	}
	return resp, nil
}

// raw sends one request to the fake and decodes the JSON answer.
func raw(t *testing.T, srv *chattest.Server, method, path, auth, body string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch auth {
	case "key":
		req.Header.Set("Api-Key", srv.Token)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+srv.Token)
	case "":
	default:
		req.Header.Set("Api-Key", auth)
	}
	resp, err := (&http.Client{Transport: conformance{t}}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(b, &out), "every answer is JSON: %s", b)
	return resp.StatusCode, resp.Header, out
}

func errorCode(t *testing.T, out map[string]any) (string, string) {
	t.Helper()
	errs, ok := out["errors"].([]any)
	require.True(t, ok, "errors list in %v", out)
	require.NotEmpty(t, errs)
	first := errs[0].(map[string]any)
	return first["code"].(string), first["message"].(string)
}

func TestAuth(t *testing.T) {
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	status, hdr, out := raw(t, srv, "GET", "/v2/businesses/100/chat?chatId=5000001", "", "")
	assert.Equal(t, 401, status)
	code, _ := errorCode(t, out)
	assert.Equal(t, "UNAUTHORIZED", code)
	assert.NotEmpty(t, hdr.Get("X-RateLimit-Resource-Limit"))

	status, _, out = raw(t, srv, "GET", "/v2/businesses/100/chat?chatId=5000001", "wrong-token", "")
	assert.Equal(t, 403, status)
	code, _ = errorCode(t, out)
	assert.Equal(t, "FORBIDDEN", code)

	for _, how := range []string{"key", "bearer"} {
		status, _, out = raw(t, srv, "GET", "/v2/businesses/100/chat?chatId=5000001", how, "")
		assert.Equal(t, 200, status, how)
		assert.Equal(t, "OK", out["status"])
	}
	reqs := srv.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, []string{"", "Api-Key", "Api-Key", "Bearer"}, []string{reqs[0].AuthScheme, reqs[1].AuthScheme, reqs[2].AuthScheme, reqs[3].AuthScheme})
	assert.Equal(t, []int{401, 403, 200, 200}, []int{reqs[0].Status, reqs[1].Status, reqs[2].Status, reqs[3].Status})
}

func TestRequestsAreValidatedAgainstTheSpec(t *testing.T) {
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	cases := []struct {
		method, path, body, mention string
	}{
		{"POST", "/v2/businesses/100/chats?limit=21", `{}`, "limit"},
		{"POST", "/v2/businesses/100/chats?limit=0", `{}`, "limit"},
		{"POST", "/v2/businesses/100/chats?limit=abc", `{}`, "limit"},
		{"GET", "/v2/businesses/100/chat?chatId=0", ``, "chatId"},
		{"GET", "/v2/businesses/100/chat?chatId=abc", ``, "chatId"},
		{"GET", "/v2/businesses/100/chat", ``, "chatId"},
		{"GET", "/v2/businesses/0/chat?chatId=1", ``, "businessId"},
		{"GET", "/v2/businesses/x/chat?chatId=1", ``, "businessId"},
		{"POST", "/v2/businesses/100/chats", `{"statuses":["NEW","NEW"]}`, "statuses"},
		{"POST", "/v2/businesses/100/chats", `{"statuses":[]}`, "statuses"},
		{"POST", "/v2/businesses/100/chats", `{"statuses":["DONE"]}`, "statuses"},
		{"POST", "/v2/businesses/100/chats", `{"contexts":[{"type":"DIRECT","id":1}]}`, "contexts"},
		{"POST", "/v2/businesses/100/chats", `{"contexts":`, "body"},
		{"POST", "/v2/businesses/100/chats/new", `{"context":{"type":"ORDER","id":0}}`, "context"},
		{"POST", "/v2/businesses/100/chats/new", ``, "body"},
		{"POST", "/v2/businesses/100/chats?page_token=bogus", `{}`, "page_token"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) {
			status, _, out := raw(t, srv, tc.method, tc.path, "key", tc.body)
			assert.Equal(t, 400, status)
			code, msg := errorCode(t, out)
			assert.Equal(t, "BAD_REQUEST", code)
			assert.Contains(t, msg, tc.mention)
			assert.NotContains(t, msg, "\n", "one short line")
		})
	}
}

func TestUnknownPathIsAJSON404(t *testing.T) {
	srv := chattest.NewServer()
	defer srv.Close()
	status, _, out := raw(t, srv, "GET", "/v2/businesses/100/messages", "key", "")
	assert.Equal(t, 404, status)
	code, _ := errorCode(t, out)
	assert.Equal(t, "NOT_FOUND", code)
}

// fixture is the default data set read independently of the server, to compute the
// expected answers of the filters.
func fixture(t *testing.T) chattest.Fixture {
	t.Helper()
	var f chattest.Fixture
	require.NoError(t, json.Unmarshal(chattest.DefaultFixture(), &f))
	return f
}

func chatsOf(t *testing.T, business int64) []api.Chat {
	for _, b := range fixture(t).Businesses {
		if b.BusinessID == business {
			return b.Chats
		}
	}
	t.Fatalf("no business %d", business)
	return nil
}

// listAll pages through getChats with the raw API, checking the paging invariants.
func listAll(t *testing.T, srv *chattest.Server, business int64, body string, limit int) []api.Chat {
	t.Helper()
	var all []api.Chat
	token := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 1000)
		path := fmt.Sprintf("/v2/businesses/%d/chats?limit=%d", business, limit)
		if token != "" {
			path += "&page_token=" + token
		}
		status, _, out := raw(t, srv, "POST", path, "key", body)
		require.Equal(t, 200, status, out)
		b, _ := json.Marshal(out)
		var env api.GetChatsEnvelope
		require.NoError(t, json.Unmarshal(b, &env))
		assert.LessOrEqual(t, len(env.Result.Chats), limit)
		all = append(all, env.Result.Chats...)
		if env.Result.Paging.NextPageToken == "" {
			return all
		}
		assert.Len(t, env.Result.Chats, limit, "only the last page is short")
		token = env.Result.Paging.NextPageToken
	}
}

func ids(chats []api.Chat) []int64 {
	out := make([]int64, len(chats))
	for i, c := range chats {
		out[i] = c.ChatID
	}
	return out
}

func TestEveryFilterCombinedWithAND(t *testing.T) {
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	chats := chatsOf(t, 100)
	orderOf := func(c api.Chat) int64 { return c.Context.OrderID }
	var someOrder, someReturn int64
	for _, c := range chats {
		if c.Context.Type == api.ChatContextTypeOrder && someOrder == 0 {
			someOrder = c.Context.OrderID
		}
		if c.Context.Type == api.ChatContextTypeReturn && someReturn == 0 {
			someReturn = c.Context.ReturnID
		}
	}
	cases := []struct {
		name, body string
		keep       func(api.Chat) bool
	}{
		{"no filter", `{}`, func(api.Chat) bool { return true }},
		{"statuses", `{"statuses":["WAITING_FOR_PARTNER","NEW"]}`, func(c api.Chat) bool {
			return c.Status == api.ChatStatusWaitingForPartner || c.Status == api.ChatStatusNew
		}},
		{"types", `{"types":["ARBITRAGE"]}`, func(c api.Chat) bool { return c.Type == api.ChatTypeArbitrage }},
		{"contextTypes", `{"contextTypes":["DIRECT"]}`, func(c api.Chat) bool { return c.Context.Type == api.ChatContextTypeDirect }},
		{"orderIds", fmt.Sprintf(`{"orderIds":[%d]}`, someOrder), func(c api.Chat) bool { return orderOf(c) == someOrder }},
		{"contexts", fmt.Sprintf(`{"contexts":[{"type":"ORDER","id":%d},{"type":"RETURN","id":%d}]}`, someOrder, someReturn), func(c api.Chat) bool {
			return (c.Context.Type == api.ChatContextTypeOrder && orderOf(c) == someOrder) ||
				(c.Context.Type == api.ChatContextTypeReturn && c.Context.ReturnID == someReturn)
		}},
		{"AND of three", `{"statuses":["FINISHED","WAITING_FOR_PARTNER"],"contextTypes":["ORDER","RETURN"],"types":["CHAT"]}`, func(c api.Chat) bool {
			return (c.Status == api.ChatStatusFinished || c.Status == api.ChatStatusWaitingForPartner) &&
				c.Context.Type != api.ChatContextTypeDirect && c.Type == api.ChatTypeChat
		}},
		{"no match", `{"statuses":["NEW"],"types":["ARBITRAGE"],"contextTypes":["DIRECT"]}`, func(api.Chat) bool { return false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []int64
			for _, c := range chats {
				if tc.keep(c) {
					want = append(want, c.ChatID)
				}
			}
			got := ids(listAll(t, srv, 100, tc.body, 20))
			if want == nil {
				want = []int64{}
			}
			if got == nil {
				got = []int64{}
			}
			assert.Equal(t, want, got)
			if tc.name != "no match" {
				assert.NotEmpty(t, got, "the fixture exercises this filter")
			}
		})
	}
}

func TestDefaultPageSizeAndOtherBusinesses(t *testing.T) {
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	status, _, out := raw(t, srv, "POST", "/v2/businesses/200/chats", "key", `{}`)
	require.Equal(t, 200, status)
	result := out["result"].(map[string]any)
	assert.Len(t, result["chats"], chattest.DefaultPageSize)
	assert.Equal(t, ids(chatsOf(t, 300)), ids(listAll(t, srv, 300, `{}`, 20)))
	assert.Empty(t, listAll(t, srv, 999, `{}`, 20), "an unknown business has no chats")
}

func TestPagingWhileChatsAreCreated(t *testing.T) {
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithParallelLimit(0))
	defer srv.Close()
	var orders []int64
	for i := range 40 {
		id := int64(900000 + i)
		srv.AddOrder(100, chattest.Order{OrderID: id, CampaignID: 21000001})
		orders = append(orders, id)
	}
	before := ids(chatsOf(t, 100))

	var wg sync.WaitGroup
	created := make(chan int64, len(orders))
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, o := range orders {
			status, _, out := raw(t, srv, "POST", "/v2/businesses/100/chats/new", "key", fmt.Sprintf(`{"context":{"type":"ORDER","id":%d}}`, o))
			if assert.Equal(t, 200, status) {
				created <- int64(out["result"].(map[string]any)["chatId"].(float64))
			}
		}
	}()
	got := ids(listAll(t, srv, 100, `{}`, 7))
	wg.Wait()
	close(created)

	seen := map[int64]int{}
	for _, id := range got {
		seen[id]++
	}
	for id, n := range seen {
		assert.Equal(t, 1, n, "chat %d repeated across pages", id)
	}
	for _, id := range before {
		assert.Equal(t, 1, seen[id], "chat %d that existed before paging was missed", id)
	}
	assert.True(t, slices.IsSorted(got), "chats come in id order")
	var all []int64
	for id := range created {
		all = append(all, id)
	}
	assert.Len(t, all, len(orders))
	assert.Equal(t, len(before)+len(orders), len(listAll(t, srv, 100, `{}`, 20)), "every created chat is listed afterwards")
}

func TestCreateChat(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	srv := chattest.NewServer(chattest.WithClock(func() time.Time { return now }),
		chattest.WithOrders(7, chattest.Order{OrderID: 55, CampaignID: 9, Customer: api.ChatCustomer{Name: "Anna K."}}))
	defer srv.Close()
	srv.AddReturn(7, chattest.Return{ReturnID: 3, OrderID: 55})

	status, _, out := raw(t, srv, "POST", "/v2/businesses/7/chats/new", "key", `{"context":{"type":"ORDER","id":55}}`)
	require.Equal(t, 200, status)
	first := out["result"].(map[string]any)["chatId"].(float64)

	status, _, out = raw(t, srv, "POST", "/v2/businesses/7/chats/new", "key", `{"orderId":55}`)
	require.Equal(t, 200, status)
	assert.Equal(t, first, out["result"].(map[string]any)["chatId"], "the existing chat comes back")

	status, _, out = raw(t, srv, "POST", "/v2/businesses/7/chats/new", "key", `{"context":{"type":"RETURN","id":3}}`)
	require.Equal(t, 200, status)
	ret := int64(out["result"].(map[string]any)["chatId"].(float64))
	assert.NotEqual(t, int64(first), ret, "a return has a chat of its own")

	c, ok := srv.Chat(7, ret)
	require.True(t, ok)
	assert.Equal(t, api.ChatContextTypeReturn, c.Context.Type)
	assert.Equal(t, int64(3), c.Context.ReturnID)
	assert.Equal(t, int64(55), c.Context.OrderID)
	assert.Equal(t, int64(9), c.Context.CampaignID)
	assert.Equal(t, "Anna K.", c.Context.Customer.Name)
	assert.Equal(t, api.ChatStatusNew, c.Status)
	assert.Equal(t, now, c.CreatedAt)
	assert.Equal(t, now, c.UpdatedAt)

	for _, body := range []string{`{"context":{"type":"ORDER","id":56}}`, `{"context":{"type":"RETURN","id":4}}`} {
		status, _, out = raw(t, srv, "POST", "/v2/businesses/7/chats/new", "key", body)
		assert.Equal(t, 404, status, body)
		code, msg := errorCode(t, out)
		assert.Equal(t, "NOT_FOUND", code)
		assert.Contains(t, msg, "not found")
	}
	status, _, out = raw(t, srv, "POST", "/v2/businesses/8/chats/new", "key", `{"context":{"type":"ORDER","id":55}}`)
	assert.Equal(t, 404, status, "orders belong to their business")
	status, _, _ = raw(t, srv, "POST", "/v2/businesses/7/chats/new", "key", `{}`)
	assert.Equal(t, 400, status, "neither context nor orderId")
	_ = out
}

func TestGetChat(t *testing.T) {
	// At the fixture's own now its dates stay as written.
	var f chattest.Fixture
	require.NoError(t, json.Unmarshal(chattest.DefaultFixture(), &f))
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithClock(func() time.Time { return f.Now }))
	defer srv.Close()
	want := chatsOf(t, 200)[3]
	status, _, out := raw(t, srv, "GET", fmt.Sprintf("/v2/businesses/200/chat?chatId=%d", want.ChatID), "key", "")
	require.Equal(t, 200, status)
	b, _ := json.Marshal(out)
	var env api.GetChatEnvelope
	require.NoError(t, json.Unmarshal(b, &env))
	assert.Equal(t, want.ChatID, env.Result.ChatID)
	assert.True(t, want.UpdatedAt.Equal(env.Result.UpdatedAt))

	// Later, every date has moved on with the clock: the chat has waited as long.
	later := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithClock(func() time.Time { return f.Now.Add(72 * time.Hour) }))
	defer later.Close()
	_, _, out = raw(t, later, "GET", fmt.Sprintf("/v2/businesses/200/chat?chatId=%d", want.ChatID), "key", "")
	b, _ = json.Marshal(out)
	require.NoError(t, json.Unmarshal(b, &env))
	assert.Equal(t, 72*time.Hour, env.Result.UpdatedAt.Sub(want.UpdatedAt))

	status, _, out = raw(t, srv, "GET", fmt.Sprintf("/v2/businesses/100/chat?chatId=%d", want.ChatID), "key", "")
	assert.Equal(t, 404, status, "a chat of another business")
	code, msg := errorCode(t, out)
	assert.Equal(t, "NOT_FOUND", code)
	assert.Contains(t, msg, fmt.Sprint(want.ChatID))
}

func TestRateLimitHeadersAndQuota(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 20, 0, 0, time.UTC)
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithClock(func() time.Time { return now }),
		chattest.WithQuota("getChat", chattest.Quota{Limit: 3, Window: time.Hour}))
	defer srv.Close()
	var remaining []string
	for i := 0; i < 4; i++ {
		status, hdr, out := raw(t, srv, "GET", "/v2/businesses/100/chat?chatId=5000001", "key", "")
		assert.Equal(t, "3", hdr.Get("X-RateLimit-Resource-Limit"))
		remaining = append(remaining, hdr.Get("X-RateLimit-Resource-Remaining"))
		until, err := time.Parse(http.TimeFormat, hdr.Get("X-RateLimit-Resource-Until"))
		require.NoError(t, err, "Until is an RFC 1123 GMT date")
		assert.Equal(t, time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC), until, "the window ends at the top of the hour")
		if i < 3 {
			assert.Equal(t, 200, status)
		} else {
			assert.Equal(t, 420, status)
			code, msg := errorCode(t, out)
			assert.Equal(t, "LIMIT_EXCEEDED", code)
			assert.Contains(t, msg, "3 requests per 1h0m0s")
		}
	}
	assert.Equal(t, []string{"2", "1", "0", "0"}, remaining)

	// Quotas are per operation and per business.
	status, hdr, _ := raw(t, srv, "POST", "/v2/businesses/100/chats?limit=1", "key", `{}`)
	assert.Equal(t, 200, status)
	assert.Equal(t, "10000", hdr.Get("X-RateLimit-Resource-Limit"))
	assert.Equal(t, "9999", hdr.Get("X-RateLimit-Resource-Remaining"))
	status, _, _ = raw(t, srv, "GET", "/v2/businesses/200/chat?chatId=5000131", "key", "")
	assert.Equal(t, 200, status)
}

func TestQuotaWindowResets(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithClock(clock),
		chattest.WithQuota("getChats", chattest.Quota{Limit: 2, Window: time.Second}))
	defer srv.Close()
	statuses := func() int { s, _, _ := raw(t, srv, "POST", "/v2/businesses/100/chats?limit=1", "key", `{}`); return s }
	assert.Equal(t, []int{200, 200, 420}, []int{statuses(), statuses(), statuses()})
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	assert.Equal(t, 200, statuses(), "a new window")
}

func TestParallelLimit(t *testing.T) {
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithParallelLimit(2))
	defer srv.Close()
	// Two slow listings hold both slots of business 100 (the limit spans operations).
	srv.Script("getChats", chattest.Delay(time.Second), chattest.Delay(time.Second))
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, _ := raw(t, srv, "POST", "/v2/businesses/100/chats", "key", "{}")
			assert.Equal(t, 200, status)
		}()
	}
	require.Eventually(t, func() bool { return srv.InFlight(100) == 2 }, 5*time.Second, time.Millisecond)
	status, hdr, out := raw(t, srv, "GET", "/v2/businesses/100/chat?chatId=5000001", "key", "")
	assert.Equal(t, 420, status)
	_, msg := errorCode(t, out)
	assert.Equal(t, "Hit rate limit of 2 parallel requests", msg)
	assert.NotEmpty(t, hdr.Get("X-RateLimit-Resource-Remaining"))
	status, _, _ = raw(t, srv, "GET", "/v2/businesses/200/chat?chatId=5000131", "key", "")
	assert.Equal(t, 200, status, "another business has its own limit")
	wg.Wait()
	assert.Equal(t, 0, srv.InFlight(100))
	status, _, _ = raw(t, srv, "GET", "/v2/businesses/100/chat?chatId=5000001", "key", "")
	assert.Equal(t, 200, status, "slots free up when answers are done")
}

func TestFaults(t *testing.T) {
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	get := func() (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", srv.URL+"/v2/businesses/100/chat?chatId=5000001", nil)
		req.Header.Set("Api-Key", srv.Token)
		// A fresh connection each time: Go's transport would silently retry a GET
		// dropped on a reused connection.
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	t.Run("status", func(t *testing.T) {
		srv.Script("getChat", chattest.StatusFault(503, "UNAVAILABLE", "maintenance"))
		resp, b, err := get()
		require.NoError(t, err)
		assert.Equal(t, 503, resp.StatusCode)
		assert.JSONEq(t, `{"status":"ERROR","errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}`, string(b))
		resp, _, err = get()
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode, "a scripted fault is used once")
	})
	t.Run("HTML 502", func(t *testing.T) {
		srv.Script("", chattest.HTML502())
		resp, b, err := get()
		require.NoError(t, err)
		assert.Equal(t, 502, resp.StatusCode)
		assert.Equal(t, "text/html", resp.Header.Get("Content-Type"))
		assert.Contains(t, string(b), "<title>502 Bad Gateway</title>")
	})
	t.Run("not JSON", func(t *testing.T) {
		srv.Script("getChat", chattest.NotJSON())
		resp, b, err := get()
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.False(t, json.Valid(b))
	})
	t.Run("drop", func(t *testing.T) {
		srv.Script("getChat", chattest.Drop())
		_, _, err := get()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "EOF")
		reqs := srv.Requests()
		assert.Equal(t, 0, reqs[len(reqs)-1].Status, "recorded as dropped")
	})
	t.Run("truncate", func(t *testing.T) {
		srv.Script("getChat", chattest.Truncated())
		resp, b, err := get()
		require.Error(t, err, "the body ends early")
		assert.Equal(t, 200, resp.StatusCode)
		assert.False(t, json.Valid(b))
	})
	t.Run("delay", func(t *testing.T) {
		srv.Script("getChat", chattest.Delay(50*time.Millisecond))
		start := time.Now()
		resp, _, err := get()
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	})
	t.Run("faults are per operation", func(t *testing.T) {
		srv.Script("createChat", chattest.StatusFault(500, "X", "y"))
		resp, _, err := get()
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
	})
}

func TestFaultRateIsReproducible(t *testing.T) {
	run := func() []int {
		srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithFaultRate(0.3, 42, chattest.StatusFault(500, "X", "y"), chattest.ParallelLimit()))
		defer srv.Close()
		var out []int
		for range 40 {
			status, _, _ := raw(t, srv, "GET", "/v2/businesses/100/chat?chatId=5000001", "key", "")
			out = append(out, status)
		}
		return out
	}
	a, b := run(), run()
	assert.Equal(t, a, b, "the same seed fails the same requests")
	var faults int
	for _, s := range a {
		if s != 200 {
			faults++
		}
	}
	assert.InDelta(t, 12, faults, 8, "about 30%% fail")
	assert.Panics(t, func() { chattest.NewServer(chattest.WithFaultRate(2, 1, chattest.Drop())) })
	assert.Panics(t, func() { chattest.NewServer(chattest.WithFaultRate(0.5, 1)) })
}

func TestRequestsAreRecorded(t *testing.T) {
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	raw(t, srv, "POST", "/v2/businesses/100/chats?limit=5&page_token=", "bearer", `{"statuses":["NEW"]}`)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "getChats", r.Operation)
	assert.Equal(t, int64(100), r.BusinessID)
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "/v2/businesses/100/chats", r.Path)
	assert.Equal(t, "5", r.Query.Get("limit"))
	assert.JSONEq(t, `{"statuses":["NEW"]}`, string(r.Body))
	assert.Equal(t, "Bearer", r.AuthScheme)
	assert.Equal(t, 200, r.Status)
	assert.WithinDuration(t, time.Now(), r.At, time.Minute, "stamped with the server clock")
	srv.ResetRequests()
	assert.Empty(t, srv.Requests())
}

func TestBadOptionsPanicLikeHTTPTest(t *testing.T) {
	assert.Panics(t, func() { chattest.NewServer(chattest.WithFixture([]byte(`{"businesses":[{"businessId":0}]}`))) })
	assert.Panics(t, func() { chattest.NewServer(chattest.WithFixture([]byte(`{"bogus":1}`))) })
	assert.Panics(t, func() { chattest.NewServer(chattest.WithQuota("sendMessage", chattest.Quota{})) })
	assert.Panics(t, func() { chattest.NewServer(chattest.WithToken("")) })
	assert.Panics(t, func() { chattest.NewServer(chattest.WithParallelLimit(-1)) })
	dup := chattest.DefaultFixture()
	assert.Panics(t, func() { chattest.NewServer(chattest.WithFixture(dup), chattest.WithFixture(dup)) }, "chat ids are unique")
}

func TestRequestLogIsBounded(t *testing.T) {
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithRequestLog(3))
	defer srv.Close()
	for i := 1; i <= 5; i++ {
		raw(t, srv, "GET", fmt.Sprintf("/v2/businesses/100/chat?chatId=%d", 5000000+i), "key", "")
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, r.Query.Get("chatId"))
	}
	assert.Equal(t, []string{"5000003", "5000004", "5000005"}, got, "the most recent, oldest first")

	none := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithRequestLog(0))
	defer none.Close()
	raw(t, none, "GET", "/v2/businesses/100/chat?chatId=5000001", "key", "")
	assert.Empty(t, none.Requests())
	assert.Panics(t, func() { chattest.NewServer(chattest.WithRequestLog(-1)) })
}
