package chattest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/notify"
)

// receiverOf serves a notify.Handler on a loopback port.
func receiverOf(t *testing.T, opts ...notify.Option) *httptest.Server {
	t.Helper()
	h, err := notify.NewHandler(opts...)
	require.NoError(t, err)
	rcv := httptest.NewServer(h)
	t.Cleanup(rcv.Close)
	return rcv
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMarketRetrySchedule(t *testing.T) {
	var total time.Duration
	attempts := 1
	for a := 1; ; a++ {
		d := chattest.MarketRetrySchedule(a)
		if d < 0 {
			break
		}
		total += d
		attempts++
		switch total {
		case time.Hour:
			assert.Equal(t, time.Minute, d, "every minute for the first hour")
		case 24 * time.Hour:
			assert.Equal(t, 15*time.Minute, d, "every 15 minutes for the day")
		}
	}
	assert.Equal(t, 14*24*time.Hour, total, "given up after 14 days")
	assert.Equal(t, 465, attempts)
	assert.Equal(t, 10*time.Millisecond, chattest.CompressedSchedule(10*time.Millisecond)(1))
	assert.Equal(t, 150*time.Millisecond, chattest.CompressedSchedule(10*time.Millisecond)(61))
}

func TestReceiverGetsAPingAndChatNotifications(t *testing.T) {
	var mu sync.Mutex
	var got []notify.Notification
	keep := func(_ context.Context, n notify.Notification) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, n)
		return nil
	}
	rcv := receiverOf(t, notify.OnNotification(keep))
	srv := newConversationServer(t, chattest.WithReceiver(rcv.URL+"/notification"))

	d := srv.Deliveries()
	require.Len(t, d, 1)
	assert.Equal(t, "PING", d[0].Type)
	assert.Equal(t, 200, d[0].Status)
	assert.JSONEq(t, `{"notificationType":"PING","time":"2026-11-21T12:00:00Z"}`, string(d[0].Body))

	// A customer writes, a chat is started, a dispute starts and ends: in that order.
	id, err := srv.CustomerWrites(100, photoChat, "Когда будет замена?")
	require.NoError(t, err)
	status, _, out := raw(t, srv, "POST", "/v2/businesses/100/chats/new", "key", `{"context":{"type":"ORDER","id":10043070}}`)
	require.Equal(t, 200, status, out)
	newChat := int64(decode[api.CreateChatEnvelope](t, out).Result.ChatID)
	status, _, _ = raw(t, srv, "POST", "/v2/businesses/100/chats/new", "key", `{"context":{"type":"ORDER","id":10043070}}`)
	require.Equal(t, 200, status, "the existing chat: no second CHAT_CREATED")
	require.NoError(t, srv.StartArbitrage(100, photoChat))
	c, _ := srv.Chat(100, photoChat)
	assert.Equal(t, api.ChatTypeArbitrage, c.Type)
	assert.Equal(t, api.ChatStatusWaitingForArbiter, c.Status)
	require.NoError(t, srv.FinishArbitrage(100, photoChat))
	c, _ = srv.Chat(100, photoChat)
	assert.Equal(t, api.ChatStatusFinished, c.Status)
	assert.Error(t, srv.FinishArbitrage(100, photoChat), "no open dispute")
	assert.Error(t, srv.StartArbitrage(100, 5000002), "a DIRECT chat has no dispute")

	waitFor(t, "four notifications", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 4 })
	mu.Lock()
	defer mu.Unlock()
	sent, ok := got[0].(notify.ChatMessageSent)
	require.True(t, ok, "%T", got[0])
	assert.Equal(t, int64(100), sent.BusinessID)
	assert.Equal(t, int64(photoChat), sent.ChatID)
	mid, err := sent.MessageID.Int64()
	require.NoError(t, err)
	assert.Equal(t, id, mid)
	assert.True(t, sent.SentAt.Equal(fixedNow))
	created, ok := got[1].(notify.ChatCreated)
	require.True(t, ok, "%T", got[1])
	assert.Equal(t, newChat, created.ChatID)
	assert.IsType(t, notify.ChatArbitrageStarted{}, got[2])
	assert.IsType(t, notify.ChatArbitrageFinished{}, got[3])

	var raw map[string]any
	for _, d := range srv.Deliveries() {
		if d.Type == notify.TypeChatMessageSent {
			require.NoError(t, json.Unmarshal(d.Body, &raw))
		}
	}
	assert.IsType(t, "", raw["messageId"], "messageId is a string, as the Market sends it")
}

func TestRegisterReceiverNeedsA200Ping(t *testing.T) {
	srv := newConversationServer(t)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer bad.Close()
	err := srv.RegisterReceiver(bad.URL)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503")
	_, err = srv.CustomerWrites(100, photoChat, "nobody listens")
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)
	assert.Len(t, srv.Deliveries(), 1, "only the failed PING: the receiver was not registered")
}

func TestFailedDeliveriesAreRetried(t *testing.T) {
	var calls, handled atomic.Int32
	rcv := receiverOf(t, notify.WithDedup(100), notify.OnChatMessageSent(func(context.Context, notify.ChatMessageSent) error {
		if calls.Add(1) <= 2 {
			return errors.New("the queue is down")
		}
		handled.Add(1)
		return nil
	}))
	srv := newConversationServer(t, chattest.WithReceiver(rcv.URL), chattest.WithDeliverySchedule(chattest.CompressedSchedule(time.Millisecond)))
	_, err := srv.CustomerWrites(100, photoChat, "Алло?")
	require.NoError(t, err)
	var statuses, attempts []int
	// The log records a delivery once its answer is in, after the receiver's code ran:
	// wait for the third entry, not for the code.
	waitFor(t, "three deliveries in the log", func() bool {
		statuses, attempts = nil, nil
		for _, d := range srv.Deliveries() {
			if d.Type == notify.TypeChatMessageSent {
				statuses = append(statuses, d.Status)
				attempts = append(attempts, d.Attempt)
			}
		}
		return len(statuses) == 3
	})
	assert.Equal(t, []int{500, 500, 200}, statuses, "delivered on the third attempt")
	assert.Equal(t, []int{1, 2, 3}, attempts)
	assert.Equal(t, int32(3), calls.Load())
	assert.Equal(t, int32(1), handled.Load(), "exactly once to the user")
}

func TestCloseStopsRetriesWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var posts atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if posts.Add(1) == 1 {
			return // the PING
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer rcv.Close()
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithReceiver(rcv.URL),
		chattest.WithDeliverySchedule(chattest.CompressedSchedule(time.Millisecond)))
	_, err := srv.CustomerWrites(100, photoChat, "1")
	require.NoError(t, err)
	_, err = srv.CustomerWrites(100, photoChat, "2")
	require.NoError(t, err)
	waitFor(t, "some retries", func() bool { return posts.Load() >= 4 })
	srv.Close()
	n := len(srv.Deliveries())
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, n, len(srv.Deliveries()), "no attempt after Close")
	for _, d := range srv.Deliveries()[1:] {
		assert.Contains(t, string(d.Body), `"messageId":"`, "the first message holds the second back")
		assert.NotContains(t, string(d.Body), `"1000322"`)
	}
	rcv.Close()
}
