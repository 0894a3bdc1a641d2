package chattest_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/notify"
)

func TestPushDropRateLosesSomeNotifications(t *testing.T) {
	var got atomic.Int32
	rcv := receiverOf(t, notify.OnChatMessageSent(func(ctx context.Context, n notify.ChatMessageSent) error {
		got.Add(1)
		return nil
	}))
	srv := chattest.Start(t, manyChats(1), chattest.WithPushDropRate(0.3, 42), chattest.WithReceiver(rcv.URL))
	for range 200 {
		_, err := srv.CustomerWrites(7, 1, "hi")
		require.NoError(t, err)
	}
	// The log records a delivery after the receiver's code ran: wait for both.
	waitFor(t, "the deliveries", func() bool {
		return int(got.Load())+srv.DroppedPushes() == 200 && countType(srv, notify.TypeChatMessageSent) == int(got.Load())
	})
	assert.InDelta(t, 60, srv.DroppedPushes(), 25, "about 30% dropped")
}

func TestReceiverDownHoldsNotificationsUntilItIsUp(t *testing.T) {
	var got atomic.Int32
	rcv := receiverOf(t, notify.OnChatMessageSent(func(ctx context.Context, n notify.ChatMessageSent) error {
		got.Add(1)
		return nil
	}))
	srv := chattest.Start(t, manyChats(1), chattest.WithReceiver(rcv.URL))
	srv.SetReceiverDown(true)
	_, err := srv.CustomerWrites(7, 1, "hi")
	require.NoError(t, err)
	waitFor(t, "a failed attempt", func() bool {
		for _, d := range srv.Deliveries() {
			if d.Type == notify.TypeChatMessageSent && d.Status == 0 && d.Err != "" {
				return true
			}
		}
		return false
	})
	assert.Zero(t, got.Load())
	srv.SetReceiverDown(false)
	waitFor(t, "the retry", func() bool { return got.Load() == 1 })
}

// countType counts the delivery attempts of one notification type.
func countType(srv *chattest.Server, typ string) int {
	n := 0
	for _, d := range srv.Deliveries() {
		if d.Type == typ {
			n++
		}
	}
	return n
}
