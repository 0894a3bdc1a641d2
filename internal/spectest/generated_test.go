package spectest

import (
	"encoding/json"
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

}
