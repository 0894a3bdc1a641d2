package chattest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

func postControl(t *testing.T, h http.Handler, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Api-Key", token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestControlTriggers(t *testing.T) {
	srv := chattest.Start(t, chattest.WithDefaultFixture())
	h := srv.WithControl()

	rec := postControl(t, h, "/_fake/trigger", srv.Token, `{"event":"customer-writes","businessId":100,"chatId":5000003,"text":"Где заказ?"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var res chattest.TriggerResult
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	assert.Equal(t, "CHAT_MESSAGE_SENT", res.Notification)
	msgs := srv.Messages(100, 5000003)
	assert.Equal(t, "Где заказ?", msgs[len(msgs)-1].Message)
	assert.Equal(t, res.MessageID, msgs[len(msgs)-1].MessageID)

	rec = postControl(t, h, "/_fake/trigger", srv.Token, `{"event":"sticker","businessId":100,"chatId":5000003}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	msgs = srv.Messages(100, 5000003)
	require.Len(t, msgs[len(msgs)-1].Payload, 1)
	assert.True(t, strings.HasPrefix(msgs[len(msgs)-1].Payload[0].URL, srv.URL+"/files/"))

	rec = postControl(t, h, "/_fake/trigger", srv.Token, `{"event":"chat-created","businessId":100,"text":"Здравствуйте"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	c, ok := srv.Chat(100, res.ChatID)
	require.True(t, ok)
	assert.Equal(t, "WAITING_FOR_PARTNER", string(c.Status))

	rec = postControl(t, h, "/_fake/trigger", srv.Token, `{"event":"status","businessId":100,"chatId":5000003,"status":"FINISHED"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	c, _ = srv.Chat(100, 5000003)
	assert.Equal(t, "FINISHED", string(c.Status))

	assert.Equal(t, http.StatusNotFound, postControl(t, h, "/_fake/trigger", srv.Token, `{"event":"customer-writes","businessId":100,"chatId":1,"text":"x"}`).Code)
	assert.Equal(t, http.StatusBadRequest, postControl(t, h, "/_fake/trigger", srv.Token, `{"event":"nope","businessId":100,"chatId":5000003}`).Code)
	assert.Equal(t, http.StatusBadRequest, postControl(t, h, "/_fake/trigger", srv.Token, `{"event":"status","businessId":100,"chatId":5000003,"status":"ASLEEP"}`).Code)
	assert.Equal(t, http.StatusUnauthorized, postControl(t, h, "/_fake/trigger", "", `{}`).Code)
	assert.Equal(t, http.StatusForbidden, postControl(t, h, "/_fake/trigger", "wrong", `{}`).Code)
	assert.Empty(t, srv.Requests(), "the controls are not the Market's requests")
}

func TestControlReceiverGetsTheNotification(t *testing.T) {
	srv := chattest.Start(t, chattest.WithDefaultFixture())
	got := make(chan string, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			Type string `json:"notificationType"`
		}
		_ = json.NewDecoder(r.Body).Decode(&n)
		got <- n.Type
	}))
	t.Cleanup(recv.Close)
	h := srv.WithControl()
	rec := postControl(t, h, "/_fake/receivers", srv.Token, `{"url":"`+recv.URL+`"}`)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	assert.Equal(t, "PING", <-got)
	rec = postControl(t, h, "/_fake/trigger", srv.Token, `{"event":"arbitrage-started","businessId":100,"chatId":5000003}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "CHAT_ARBITRAGE_STARTED", <-got)
}
