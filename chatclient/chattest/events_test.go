package chattest_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestEventsLogWhatHappened(t *testing.T) {
	srv := chattest.Start(t, chattest.WithChat(7, chattest.Chat{ID: 70, About: chatclient.Order(1)}))
	id, err := srv.CustomerWrites(7, 70, "hello")
	require.NoError(t, err)
	require.NoError(t, srv.SetChatStatus(7, 70, chatclient.StatusWaitingForMarket))
	require.NoError(t, srv.SetChatStatus(7, 70, chatclient.StatusWaitingForMarket)) // no change, no event
	require.NoError(t, srv.StartArbitrage(7, 70))
	require.NoError(t, srv.FinishArbitrage(7, 70))

	var kinds []chattest.EventKind
	for i, e := range srv.Events() {
		assert.Equal(t, int64(i+1), e.Seq)
		assert.Equal(t, int64(70), e.ChatID)
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, []chattest.EventKind{
		chattest.EventChatCreated,
		chattest.EventMessageWritten, chattest.EventStatusChanged, // NEW -> WAITING_FOR_PARTNER
		chattest.EventStatusChanged,                                                                 // -> WAITING_FOR_MARKET
		chattest.EventMessageWritten, chattest.EventStatusChanged, chattest.EventArbitrationStarted, // the MARKET message
		chattest.EventMessageWritten, chattest.EventStatusChanged, chattest.EventArbitrationFinished, // the SUPPORT message
	}, kinds)
	ev := srv.Events()
	assert.Equal(t, id, ev[1].MessageID)
	assert.Equal(t, chatclient.SenderCustomer, ev[1].Sender)
	assert.Equal(t, chatclient.StatusNew, ev[2].OldStatus)
	assert.Equal(t, chatclient.StatusWaitingForPartner, ev[2].Status)
	assert.Equal(t, chatclient.StatusFinished, ev[8].Status)
}

func TestEventsIncludeTheFixture(t *testing.T) {
	srv := chattest.Start(t, chattest.WithDefaultFixture())
	var created, written int
	for _, e := range srv.Events() {
		switch e.Kind {
		case chattest.EventChatCreated:
			created++
		case chattest.EventMessageWritten:
			written++
		}
	}
	var f chattest.Fixture
	require.NoError(t, json.Unmarshal(chattest.DefaultFixture(), &f))
	var chats, messages int
	for _, b := range f.Businesses {
		chats += len(b.Chats)
		for _, c := range b.Conversations {
			messages += len(c.Messages) + c.Generate
		}
	}
	assert.Equal(t, chats, created, "every chat of the fixture")
	assert.Equal(t, messages, written, "every message of the fixture")
}
