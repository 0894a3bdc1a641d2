package main

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestTriggerDrivesTheFake(t *testing.T) {
	srv, vars := fake(t)
	ctl := httptest.NewServer(srv.WithControl())
	t.Cleanup(ctl.Close)
	vars["YM_BASE_URL"] = ctl.URL

	res := runCLI(t, vars, false, "trigger", "customer-writes", "5000003", "-m", "Алло?")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Regexp(t, `^customer-writes: chat 5000003, message \d+; receivers get CHAT_MESSAGE_SENT\n$`, res.stdout)

	res = runCLI(t, vars, false, "trigger", "chat-created", "-m", "Hello", "--customer", "Eve", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var out chattest.TriggerResult
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &out))
	c, ok := srv.Chat(100, out.ChatID)
	require.True(t, ok)
	assert.Equal(t, "Eve", c.Context.Customer.Name)

	res = runCLI(t, vars, false, "trigger", "status", "5000003", "--status", "waiting_for_arbiter")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "no notification")
	c, _ = srv.Chat(100, 5000003)
	assert.Equal(t, "WAITING_FOR_ARBITER", string(c.Status))

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trigger", "customer-sings", "5000003"}, 2, `unknown event "customer-sings"`},
		{[]string{"trigger", "sticker"}, 2, "sticker needs a CHAT_ID"},
		{[]string{"trigger", "customer-writes", "5000003"}, 2, "needs the text: -m TEXT"},
		{[]string{"trigger", "status", "5000003", "--status", "ASLEEP"}, 2, `invalid --status: "ASLEEP"`},
		{[]string{"trigger", "chat-created", "5000003"}, 2, "give no CHAT_ID"},
		{[]string{"trigger", "sticker", "1"}, 1, "404"},
	} {
		res := runCLI(t, vars, false, tc.args...)
		assert.Equal(t, tc.code, res.code, "%v: %s", tc.args, res.stderr)
		assert.Contains(t, res.stderr, tc.want, tc.args)
	}

	delete(vars, "YM_BASE_URL")
	res = runCLI(t, vars, false, "trigger", "sticker", "5000003")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "no fake to drive: set YM_BASE_URL")
}
