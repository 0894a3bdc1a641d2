package spectest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/api"
)

// The Market adds enum values and fields over time: the generated models must decode
// them without error and keep the unknown value as it came.
func TestGeneratedModelsTolerateNewValuesAndFields(t *testing.T) {
	body := `{"status":"OK","newTopLevel":1,"result":{"chats":[{
		"chatId":7,"context":{"type":"MARKETPLACE_SUPPORT","customer":{"name":"A","extra":true},"newField":"x"},
		"type":"GROUP","status":"WAITING_FOR_COURIER","createdAt":"2017-11-21T00:00:00+03:00",
		"updatedAt":"2017-11-21T00:00:00+03:00","labels":["a"]}],"paging":{"nextPageToken":"t","total":9}}}`
	var env api.GetChatsEnvelope
	require.NoError(t, json.Unmarshal([]byte(body), &env))
	require.NotNil(t, env.Result)
	require.Len(t, env.Result.Chats, 1)
	chat := env.Result.Chats[0]
	assert.Equal(t, int64(7), chat.ChatID)
	assert.Equal(t, api.ChatStatus("WAITING_FOR_COURIER"), chat.Status)
	assert.False(t, chat.Status.Valid(), "an unknown status is kept and reported as not one of ours")
	assert.Equal(t, api.ChatType("GROUP"), chat.Type)
	assert.Equal(t, api.ChatContextType("MARKETPLACE_SUPPORT"), chat.Context.Type)
	assert.True(t, api.ChatStatusWaitingForPartner.Valid())

	body = `{"status":"OK","result":{"messageId":5,"createdAt":"2017-11-21T00:00:00+03:00",
		"sender":"COURIER","message":"hi","reactions":["+1"],
		"payload":[{"name":"a.png","url":"https://example.com/a.png","size":3,"mime":"image/png"}]}}`
	var msg api.GetChatMessageEnvelope
	require.NoError(t, json.Unmarshal([]byte(body), &msg))
	require.NotNil(t, msg.Result)
	assert.Equal(t, api.ChatMessageSender("COURIER"), msg.Result.Sender)
	assert.False(t, msg.Result.Sender.Valid(), "an unknown sender is kept and reported as not one of ours")
	assert.True(t, api.ChatMessageSenderSupport.Valid())
	require.Len(t, msg.Result.Payload, 1)
	assert.Equal(t, "https://example.com/a.png", msg.Result.Payload[0].URL)
}

// models are the generated types a "model" fixture may be decoded into.
var models = map[string]func() any{
	"GetChatHistoryEnvelope": func() any { return new(api.GetChatHistoryEnvelope) },
	"GetChatMessageEnvelope": func() any { return new(api.GetChatMessageEnvelope) },
	"GetChatsEnvelope":       func() any { return new(api.GetChatsEnvelope) },
	"GetChatEnvelope":        func() any { return new(api.GetChatEnvelope) },
}

// decodeModel decodes a fixture into the generated type the case names: what a client
// built on package api does with an answer, whatever the strict spec says of it.
func decodeModel(t *testing.T, c fixtureCase, body []byte) error {
	t.Helper()
	model, ok := models[c.Model]
	require.True(t, ok, "unknown model %q", c.Model)
	return json.Unmarshal(body, model())
}

// Generated names read as Go: initialisms upper-cased, enum constants prefixed with
// their type. A rename in the generator config breaks this at compile time.
func TestGeneratedNamesReadWell(t *testing.T) {
	req := api.GetChatsRequest{
		OrderIDs:     []int64{1},
		Contexts:     []api.ChatContext{{Type: api.ChatContextIdentifiableTypeReturn, ID: 2}},
		ContextTypes: []api.ChatContextType{api.ChatContextTypeDirect},
		Types:        []api.ChatType{api.ChatTypeArbitrage},
		Statuses:     []api.ChatStatus{api.ChatStatusNew, api.ChatStatusFinished},
	}
	b, err := json.Marshal(req)
	require.NoError(t, err)
	assert.JSONEq(t, `{"orderIds":[1],"contexts":[{"type":"RETURN","id":2}],"contextTypes":["DIRECT"],"types":["ARBITRAGE"],"statuses":["NEW","FINISHED"]}`, string(b))

	b, err = json.Marshal(api.GetChatsRequest{})
	require.NoError(t, err)
	assert.JSONEq(t, `{}`, string(b), "filters left out are not sent")

	token := "t"
	params := api.GetChatsParams{PageToken: &token, PageTokenCamelCase: &token}
	assert.Equal(t, "t", *params.PageTokenCamelCase)
}

// The message operations: their names, and the client methods the hand-written layer
// calls. sendFileToChat must take the body as a stream (contentType, io.Reader), so that
// a file is never held in memory twice.
func TestGeneratedMessageNames(t *testing.T) {
	from := int64(10)
	history := api.GetChatHistoryParams{ChatID: 1, Limit: ptr(int32(100)), PageToken: ptr("a"), PageTokenCamelCase: ptr("a")}
	assert.Equal(t, api.ChatID(1), history.ChatID)
	b, err := json.Marshal(api.GetChatHistoryRequest{MessageIDFrom: &from})
	require.NoError(t, err)
	assert.JSONEq(t, `{"messageIdFrom":10}`, string(b))
	b, err = json.Marshal(api.GetChatHistoryRequest{})
	require.NoError(t, err)
	assert.JSONEq(t, `{}`, string(b), "messageIdFrom left out is not sent")

	b, err = json.Marshal(api.SendMessageToChatRequest{Message: "hi"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"message":"hi"}`, string(b))

	_ = api.GetChatMessageParams{ChatID: 1, MessageID: 2}
	_ = api.SendMessageToChatParams{ChatID: 1}
	_ = api.SendFileToChatParams{ChatID: 1}
	for _, s := range []api.ChatMessageSender{api.ChatMessageSenderPartner, api.ChatMessageSenderCustomer, api.ChatMessageSenderMarket, api.ChatMessageSenderSupport} {
		assert.True(t, s.Valid(), s)
	}

	var env api.GetChatHistoryEnvelope
	require.NoError(t, json.Unmarshal([]byte(`{"status":"OK","result":{"context":{"type":"ORDER","orderId":4},
		"messages":[{"messageId":1,"createdAt":"2017-11-21T00:00:00+03:00","sender":"PARTNER","payload":null}],
		"paging":{"nextPageToken":"n"}}}`), &env))
	assert.Equal(t, api.ChatContextTypeOrder, env.Result.Context.Type)
	require.Len(t, env.Result.Messages, 1)
	m := env.Result.Messages[0]
	assert.Equal(t, int64(1), m.MessageID)
	assert.Empty(t, m.Message)
	assert.Nil(t, m.Payload)
	assert.Equal(t, "n", env.Result.Paging.NextPageToken)

	var empty api.EmptyEnvelope
	require.NoError(t, json.Unmarshal([]byte(`{"status":"OK"}`), &empty))
	assert.Equal(t, api.ResponseStatusOK, empty.Status)

	c := &api.Client{}
	var _ func(context.Context, api.BusinessID, *api.SendFileToChatParams, string, io.Reader, ...api.RequestEditorFn) (*http.Response, error) = c.SendFileToChatWithBody
	var _ func(context.Context, api.BusinessID, *api.SendMessageToChatParams, api.SendMessageToChatJSONRequestBody, ...api.RequestEditorFn) (*http.Response, error) = c.SendMessageToChat
	var _ func(context.Context, api.BusinessID, *api.GetChatHistoryParams, api.GetChatHistoryJSONRequestBody, ...api.RequestEditorFn) (*http.Response, error) = c.GetChatHistory
	var _ func(context.Context, api.BusinessID, *api.GetChatMessageParams, ...api.RequestEditorFn) (*http.Response, error) = c.GetChatMessage
}

func ptr[T any](v T) *T { return &v }
