package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestVerboseLogsAttemptsToStderr(t *testing.T) {
	srv, vars := fake(t)
	srv.Script("getChat", chattest.StatusFault(503, "UNAVAILABLE", "later"))
	res := runCLI(t, vars, false, "chat", "get", "5000003", "-v", "--base-url", srv.URL)
	require.Equal(t, 0, res.code)
	assert.Contains(t, res.stderr, "level=DEBUG msg=\"ymchat request\" operation=getChat business=100 attempt=1 status=503")
	assert.Contains(t, res.stderr, "attempt=2 status=200")
	assert.NotContains(t, res.stdout, "DEBUG")
}

func TestFakeFlagAndChatNew(t *testing.T) {
	res := runCLI(t, nil, false, "chats", "--fake", "--status", "WAITING_FOR_PARTNER", "--jsonl")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Len(t, strings.Split(strings.TrimSpace(res.stdout), "\n"), 40)

	res = runCLI(t, nil, false, "chat", "new", "--fake", "--return", "1000712", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var out map[string]int64
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &out))
	assert.Positive(t, out["chatId"])

	res = runCLI(t, nil, false, "chats", "--fake", "--business", "300")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Len(t, strings.Split(strings.TrimSpace(res.stdout), "\n"), 14, "a header, the 12 chats of business 300, the count")
	assert.True(t, strings.HasSuffix(res.stdout, "\n12 chats\n"), res.stdout)
}

func TestRedisSharesTheLimits(t *testing.T) {
	mr := miniredis.RunT(t)
	srv, vars := fake(t)
	res := runCLI(t, vars, false, "chats", "--base-url", srv.URL, "--jsonl", "--redis", "redis://"+mr.Addr()+"/0")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Len(t, strings.Split(strings.TrimSpace(res.stdout), "\n"), 130)
	assert.Empty(t, res.stderr, "Redis answered: no fallback warning")
	keys := mr.Keys()
	require.NotEmpty(t, keys, "the quota of getChats is kept in Redis")
	for _, k := range keys {
		assert.True(t, strings.HasPrefix(k, "ymchat:"), k)
	}
	assert.True(t, strings.Contains(strings.Join(keys, " "), "getChats"), keys)

	// From the environment, and for a conversation command too.
	mr.FlushAll()
	vars["YM_REDIS_URL"] = "redis://" + mr.Addr()
	res = runCLI(t, vars, false, "chat", "history", "5000003", "--base-url", srv.URL, "--json")
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotEmpty(t, mr.Keys())
}

func TestRedisBadURLIsAUsageError(t *testing.T) {
	res := runCLI(t, nil, false, "chats", "--fake", "--redis", "http://localhost:6379")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "ymchat: invalid --redis: ")
	assert.Empty(t, res.stdout)

	res = runCLI(t, map[string]string{"YM_REDIS_URL": "localhost:6379"}, false, "chat", "get", "5000003", "--fake")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "ymchat: invalid YM_REDIS_URL: ")

	res = runCLI(t, map[string]string{"YM_REDIS_URL": "redis://localhost:6379"}, false, "chats", "--fake", "--redis", "redis://a b")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "ymchat: invalid --redis: ", "the flag wins over the environment and is named")
}

func TestRedisDownFallsBackToLocalLimits(t *testing.T) {
	srv, vars := fake(t)
	res := runCLI(t, vars, false, "chat", "get", "5000003", "--base-url", srv.URL, "--redis", "redis://127.0.0.1:1")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "chat      5000003")
	assert.Contains(t, res.stderr, "level=WARN", "losing Redis is told on stderr")
}
