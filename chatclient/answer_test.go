package chatclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheTokenNeverComesBack(t *testing.T) {
	srv := newScripted(t, reply{status: 502, ctype: "text/html",
		body: "<html><h1>Bad gateway</h1><pre>Api-Key: " + testToken + "</pre></html>"},
		reply{status: 400, body: `{"status":"ERROR","errors":[{"code":"BAD","message":"your key ` + testToken + ` is odd"}]}`})
	c, _ := newTestClient(t, srv.srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 2}))
	_, err := c.GetChat(context.Background(), 3, 7)
	require.Error(t, err)
	requireNoToken(t, err)
	assert.Contains(t, err.Error(), "[redacted]")
	for _, v := range []any{c, APIKey(testToken), OAuthToken(testToken), WithBaseURL("https://x")} {
		assert.NotContains(t, fmt.Sprintf("%v %+v %#v %s", v, v, v, v), testToken)
	}
}

func TestAnOversizedBodyIsNotBufferedSeveralTimesOver(t *testing.T) {
	// Through HTTP: the answer is refused with a ResponseError, not retried.
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.(http.Flusher).Flush() // no Content-Length: the client must stop by itself
		_, _ = io.WriteString(w, strings.Repeat("x", 3*MaxResponseBytes))
	}})
	c, _ := newTestClient(t, srv.srv.URL)
	_, err := c.GetChat(context.Background(), 3, 7)
	var re *ResponseError
	require.ErrorAs(t, err, &re)
	assert.Len(t, srv.requests(), 1)

	// What reading such a body allocates, measured on the reader alone.
	endless := &http.Response{Body: io.NopCloser(io.LimitReader(zeros{}, 3*MaxResponseBytes)), ContentLength: -1}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = readBody(endless, MaxResponseBytes)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, errTooLarge)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(5*MaxResponseBytes/2), "at most about twice the limit, not 6–8×: %d bytes", allocated)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// every operation that reads, called once against whatever the server answers.
var reads = map[Operation]func(c *Client) error{
	OpGetChats: func(c *Client) error {
		for _, err := range c.Chats(context.Background(), 5, Filter{}) {
			return err // the first item or the error: an error must come before any item
		}
		return nil
	},
	OpGetChatHistory: func(c *Client) error {
		for _, err := range c.Messages(context.Background(), 5, 7, 0) {
			return err
		}
		return nil
	},
	OpGetChat:        func(c *Client) error { _, err := c.GetChat(context.Background(), 5, 7); return err },
	OpGetChatMessage: func(c *Client) error { _, err := c.GetMessage(context.Background(), 5, 7, 9); return err },
	OpCreateChat:     func(c *Client) error { _, err := c.CreateChat(context.Background(), 5, Order(70)); return err },
}

func TestAnErrorEnvelopeIsNeverAnEmptySuccess(t *testing.T) {
	for op, call := range reads {
		t.Run(string(op), func(t *testing.T) {
			srv := newScripted(t, jsonReply(200, `{"status":"ERROR","errors":[{"code":"INTERNAL_ERROR","message":"try again later"}]}`))
			c, _ := newTestClient(t, srv.srv.URL)
			err := call(c)
			var re *ResponseError
			require.ErrorAs(t, err, &re, "an error, not an empty result")
			assert.ErrorIs(t, err, ErrStatusError)
			assert.Equal(t, op, re.Operation)
			assert.Equal(t, http.StatusOK, re.StatusCode)
			assert.Equal(t, []ErrorDetail{{Code: "INTERNAL_ERROR", Message: "try again later"}}, re.Errors, "the Market's codes")
			assert.Contains(t, re.Body, "INTERNAL_ERROR", "an excerpt of what came")
			assert.Contains(t, err.Error(), "INTERNAL_ERROR: try again later")
			assert.Len(t, srv.requests(), 1, "not retried: the Market answered")
		})
	}
}

func TestANullOrMissingResultIsNeverAnEmptySuccess(t *testing.T) {
	for _, body := range []string{`{"status":"OK","result":null}`, `{"status":"OK"}`, `{}`} {
		for op, call := range reads {
			t.Run(fmt.Sprintf("%s %s", op, body), func(t *testing.T) {
				srv := newScripted(t, jsonReply(200, body))
				c, _ := newTestClient(t, srv.srv.URL)
				err := call(c)
				require.ErrorIs(t, err, ErrNoResult)
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, op, re.Operation)
				assert.Equal(t, body, re.Body)
			})
		}
	}
}

func TestAnUnknownStatusIsNotOK(t *testing.T) {
	srv := newScripted(t, jsonReply(200, `{"status":"PARTIAL","result":`+chat(7, 70)+`}`))
	c, _ := newTestClient(t, srv.srv.URL)
	_, err := c.GetChat(context.Background(), 5, 7)
	require.ErrorIs(t, err, ErrStatusError)
}

func TestASendAnsweredWithAnErrorEnvelopeIsLeftToTheHistory(t *testing.T) {
	srv := newScripted(t,
		jsonReply(200, `{"status":"ERROR","errors":[{"code":"INTERNAL_ERROR","message":"boom"}]}`),
		jsonReply(200, `{"status":"OK","result":{"messages":[],"paging":{}}}`))
	c, _ := newTestClient(t, srv.srv.URL)
	err := c.SendMessage(context.Background(), 5, 7, "hello")
	require.ErrorIs(t, err, ErrMaybeDelivered)
	require.ErrorIs(t, err, ErrStatusError)
	var md *MaybeDeliveredError
	require.ErrorAs(t, err, &md)
	assert.ErrorIs(t, md.CheckErr, ErrNotInHistory)
	got := srv.requests()
	require.Len(t, got, 2)
	assert.Contains(t, got[1].path, "/chats/history", "the second request read the history; nothing was sent again")
}
