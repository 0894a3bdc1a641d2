package chatclient_test

// This file holds what the external tests share: a fake Market, clients for it, and
// counts of what the fake holds.

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

func newFake(t *testing.T, opts ...chattest.Option) *chattest.Server {
	t.Helper()
	srv := chattest.NewServer(append([]chattest.Option{chattest.WithDefaultFixture()}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

func clientFor(t *testing.T, srv *chattest.Server, opts ...chatclient.Option) *chatclient.Client {
	t.Helper()
	c, err := chatclient.New(chatclient.APIKey(srv.Token), append([]chatclient.Option{chatclient.WithBaseURL(srv.URL)}, opts...)...)
	require.NoError(t, err)
	return c
}

func fixtureChats(t *testing.T, business int64) []api.Chat {
	t.Helper()
	var f chattest.Fixture
	require.NoError(t, json.Unmarshal(chattest.DefaultFixture(), &f))
	for _, b := range f.Businesses {
		if b.BusinessID == business {
			return b.Chats
		}
	}
	t.Fatalf("no business %d", business)
	return nil
}

func fastPolicy() chatclient.RetryPolicy {
	p := chatclient.DefaultRetryPolicy()
	p.Backoff = chatclient.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Multiplier: 2}
	p.ParallelBackoff = p.Backoff
	return p
}

// fastRetries keeps the tests quick: waits of at most a millisecond.
var fastRetries = chatclient.WithRetryPolicy(chatclient.RetryPolicy{
	Backoff:         chatclient.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 1},
	ParallelBackoff: chatclient.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 1},
})

func countText(srv *chattest.Server, chat int64, text string) int {
	n := 0
	for _, m := range srv.Messages(100, chat) {
		if m.Message == text {
			n++
		}
	}
	return n
}

func countFiles(srv *chattest.Server, chat int64, name string) int {
	n := 0
	for _, m := range srv.Messages(100, chat) {
		for _, p := range m.Payload {
			if p.Name == name {
				n++
			}
		}
	}
	return n
}

func requestsOf(srv *chattest.Server, op string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Operation == op {
			n++
		}
	}
	return n
}
