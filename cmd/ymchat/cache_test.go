package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChatIDsCompleteFromTheLastListing(t *testing.T) {
	srv, vars := fake(t)
	vars["XDG_CACHE_HOME"] = t.TempDir()
	res := runCLI(t, vars, false, "chats", "--base-url", srv.URL, "--status", "WAITING_FOR_PARTNER", "--sort", "updated", "--limit", "3")
	require.Equal(t, 0, res.code, res.stderr)
	seen := len(srv.Requests())

	for _, args := range [][]string{{"chat", "history", ""}, {"chat", "message", "50"}, {"chat", "send", ""}, {"chat", "get", ""}} {
		res = runCLI(t, vars, false, append([]string{"__complete", "--base-url", srv.URL}, args...)...)
		require.Equal(t, 0, res.code, res.stderr)
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		require.Len(t, lines, 4, "three chats and the directive: %s", res.stdout)
		assert.True(t, strings.HasPrefix(lines[0], "5000078\tWAITING_FOR_PARTNER"), lines[0])
	}
	assert.Len(t, srv.Requests(), seen, "completion spends no quota")

	// The second argument (a message id) is not a chat id.
	res = runCLI(t, vars, false, "__complete", "chat", "message", "5000078", "")
	assert.NotContains(t, res.stdout, "5000078\t")
}
