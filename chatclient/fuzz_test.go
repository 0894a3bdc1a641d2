package chatclient

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/internal/openapispec"
)

// fuzzClient answers every request through respond, with no network, a fake clock
// and a short retry policy, so that each fuzz input runs in microseconds.
func fuzzClient(t *testing.T, respond func(*http.Request) (*http.Response, error)) *Client {
	t.Helper()
	policy := RetryPolicy{MaxAttempts: 2, Backoff: Backoff{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 1},
		ParallelBackoff: Backoff{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 1}}
	c, err := New(APIKey(testToken), WithBaseURL("https://api.example.test"), WithClock(newFakeClock()), WithMaxWait(0),
		WithRetryPolicy(policy), WithHTTPClient(&http.Client{Transport: roundTripFunc(respond)}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzResponseDecoding feeds every operation arbitrary answers: any status, body,
// content type and X-RateLimit-* headers. Whatever comes back, the client must not
// panic or hang, must return a typed error (or a value only for a 2xx), and must keep
// the token out of the error.
func FuzzResponseDecoding(f *testing.F) {
	f.Add(uint8(0), uint16(200), []byte(`{"status":"OK","result":{"chatId":1}}`), "application/json", "1000", "999", "Thu, 10 Jul 2036 00:42:42 GMT")
	f.Add(uint8(1), uint16(200), []byte(`{"status":"OK","result":{"chatId":5,"context":{"type":"ORDER"},"type":"CHAT","status":"NEW","createdAt":"2017-11-21T00:00:00+03:00","updatedAt":"2017-11-21T00:00:00+03:00"}}`), "application/json", "", "", "")
	f.Add(uint8(2), uint16(200), []byte(`{"status":"OK","result":{"chats":[],"paging":{"nextPageToken":"x"}}}`), "application/json", "10000", "0", "Thu, 10 Jul 2036 00:42:42 GMT")
	f.Add(uint8(1), uint16(420), []byte(`{"status":"ERROR","errors":[{"code":"LIMIT","message":"Hit rate limit of 4 parallel requests"}]}`), "application/json", "1000", "0", "garbage")
	f.Add(uint8(2), uint16(502), []byte("<html><body>Bad Gateway</body></html>"), "text/html", "-1", "x", "Mon, 02 Jan 2006 15:04:05 -0700")
	f.Add(uint8(0), uint16(404), []byte(`{"status":"ERROR","errors":[{"co`), "application/json", "", "", "")
	f.Add(uint8(1), uint16(200), []byte(`{"status":"OK","result":{"chatId":"nope"}}`), "text/plain", "99999999999999999999", "", "")
	f.Fuzz(func(t *testing.T, op uint8, status uint16, body []byte, ctype, limit, remaining, until string) {
		if status < 100 || status > 999 {
			status = 200 + status%400
		}
		c := fuzzClient(t, func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("Content-Type", ctype)
			h.Set(headerLimit, limit)
			h.Set(headerRemaining, remaining)
			h.Set(headerUntil, until)
			return &http.Response{StatusCode: int(status), Header: h, Body: io.NopCloser(bytes.NewReader(body)),
				ContentLength: -1, Request: r}, nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		switch op % 3 {
		case 0:
			_, err = c.CreateChat(ctx, 1, Order(2))
		case 1:
			_, err = c.GetChat(ctx, 1, 2)
		default:
			_, err = c.ListChats(ctx, 1, Filter{}, PageRequest{Limit: 20})
		}
		if ctx.Err() != nil {
			t.Fatalf("the call hung until the deadline (status %d)", status)
		}
		if err == nil {
			if status < 200 || status > 299 {
				t.Fatalf("HTTP %d gave no error", status)
			}
			return
		}
		var (
			ae  *APIError
			re  *ResponseError
			rte *RetryError
			rle *RateLimitError
		)
		if !errors.As(err, &ae) && !errors.As(err, &re) && !errors.As(err, &rte) && !errors.As(err, &rle) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Fatal("the token is in the error")
		}
	})
}

// FuzzRequestBuilding calls ListChats and CreateChat with arbitrary filters, pages and
// contexts. Either the client refuses the input with a *ValidationError and sends
// nothing, or the request it sends is valid against openapi.yaml: nothing malformed
// reaches the network.
func FuzzRequestBuilding(f *testing.F) {
	f.Add("WAITING_FOR_PARTNER,NEW", "CHAT", "ORDER", []byte{1, 0, 0, 0, 0, 0, 0, 0}, uint8(1), int16(20), "eyJ2IjoxfQ", int64(5))
	f.Add("", "", "", []byte{}, uint8(0), int16(0), "", int64(1))
	f.Add("NEW,NEW", "ARBITRAGE,GROUP", "DIRECT", []byte{0, 0, 0, 0, 0, 0, 0, 0}, uint8(2), int16(21), "a b&c=d", int64(0))
	f.Add(",", "chat", "RETURN,ORDER,DIRECT", []byte{255, 255, 255, 255, 255, 255, 255, 127}, uint8(3), int16(-1), "\x00\xff", int64(-7))
	fuzzRouter, err := openapispec.AnyHostRouter()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, statuses, types, contextTypes string, ids []byte, kinds uint8, limit int16, token string, business int64) {
		if len(statuses)+len(types)+len(contextTypes)+len(ids)+len(token) > 4096 {
			// Validating huge bodies against the spec is slow in kin-openapi and would
			// starve the fuzzer; long lists are covered by TestLongFilterListsAreCheckedInLinearTime.
			return
		}
		var sent []*http.Request
		var bodies [][]byte
		c := fuzzClient(t, func(r *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(r.Body)
			sent = append(sent, r)
			bodies = append(bodies, b)
			body := `{"status":"OK","result":{"chats":[]}}`
			if strings.HasSuffix(r.URL.Path, "/new") {
				body = `{"status":"OK","result":{"chatId":1}}`
			}
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(body)), ContentLength: -1, Request: r}, nil
		})
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		var filter Filter
		for _, s := range split(statuses) {
			filter.Statuses = append(filter.Statuses, api.ChatStatus(s))
		}
		for _, s := range split(types) {
			filter.Types = append(filter.Types, api.ChatType(s))
		}
		for _, s := range split(contextTypes) {
			filter.ContextTypes = append(filter.ContextTypes, api.ChatContextType(s))
		}
		var about Subject
		for i := 0; i+8 <= len(ids); i += 8 {
			id := int64(binary.LittleEndian.Uint64(ids[i:]))
			kind := ContextType([]string{"ORDER", "RETURN", "DIRECT", ""}[(int(kinds)+i/8)%4])
			about = Subject{Type: kind, ID: id}
			filter.Subjects = append(filter.Subjects, about)
			if kinds&0x80 != 0 {
				filter.OrderIDs = append(filter.OrderIDs, id)
			}
		}
		_, listErr := c.ListChats(context.Background(), business, filter, PageRequest{Limit: int(limit), Token: token})
		_, createErr := c.CreateChat(context.Background(), business, about)

		want := 0
		for _, err := range []error{listErr, createErr} {
			var ve *ValidationError
			switch {
			case err == nil:
				want++
			case errors.As(err, &ve):
				if ve.Field == "" || ve.Rule == "" {
					t.Fatalf("a validation error must name the field and the rule: %#v", ve)
				}
			default:
				t.Fatalf("unexpected error %T: %v", err, err)
			}
		}
		if len(sent) != want {
			t.Fatalf("%d requests sent for %d accepted calls", len(sent), want)
		}
		for i, r := range sent {
			r.Body = io.NopCloser(bytes.NewReader(bodies[i]))
			route, params, err := fuzzRouter.FindRoute(r)
			if err != nil {
				t.Fatalf("request to %s matches no operation: %v", r.URL, err)
			}
			if err := openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
				Request: r, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			}); err != nil {
				t.Fatalf("the client sent a request openapi.yaml rejects: %v\n%s %s %s", err, r.Method, r.URL, bodies[i])
			}
			if r.URL.Path != "" && strings.Contains(r.URL.Path, "chats") && !strings.HasSuffix(r.URL.Path, "/new") {
				if got := r.URL.Query().Get("page_token"); got != token {
					t.Fatalf("page_token %q sent as %q", token, got)
				}
			}
		}
	})
}
