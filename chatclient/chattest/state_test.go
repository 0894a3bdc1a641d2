package chattest_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestStateSurvivesARestart(t *testing.T) {
	a := chattest.Start(t, chattest.WithDefaultFixture())
	id, err := a.CustomerWrites(100, 5000003, "Ещё тут?")
	require.NoError(t, err)
	_, err = a.Trigger(chattest.Trigger{Event: chattest.TriggerSticker, BusinessID: 100, ChatID: 5000003})
	require.NoError(t, err)
	data, err := a.State()
	require.NoError(t, err)

	b := chattest.Start(t, chattest.WithState(data))
	msgs := b.Messages(100, 5000003)
	require.Len(t, msgs, len(a.Messages(100, 5000003)))
	assert.Equal(t, id, msgs[len(msgs)-2].MessageID)
	assert.Equal(t, "Ещё тут?", msgs[len(msgs)-2].Message)
	ca, _ := a.Chat(100, 5000003)
	cb, _ := b.Chat(100, 5000003)
	assert.Equal(t, ca.Status, cb.Status)
	assert.True(t, ca.UpdatedAt.Equal(cb.UpdatedAt))

	// The sticker's bytes came along, and the next message and file take new ids.
	get := func(url string) []byte {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return body
	}
	assert.Equal(t, get(a.Messages(100, 5000003)[len(msgs)-1].Payload[0].URL), get(msgs[len(msgs)-1].Payload[0].URL))
	next, err := b.CustomerWrites(100, 5000003, "И ещё")
	require.NoError(t, err)
	assert.Greater(t, next, msgs[len(msgs)-1].MessageID)
	res, err := b.Trigger(chattest.Trigger{Event: chattest.TriggerSticker, BusinessID: 100, ChatID: 5000003})
	require.NoError(t, err)
	last := b.Messages(100, 5000003)
	assert.NotEqual(t, last[len(last)-1].Payload[0].URL, msgs[len(msgs)-1].Payload[0].URL, "message %d", res.MessageID)
}
