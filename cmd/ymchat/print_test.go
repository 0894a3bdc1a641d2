package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestTableFitsTheTerminal(t *testing.T) {
	srv, vars := fake(t)
	vars["COLUMNS"] = "80"
	res := runCLI(t, vars, false, "chats", "--base-url", srv.URL, "--status", "WAITING_FOR_PARTNER")
	require.Equal(t, 0, res.code, res.stderr)
	golden(t, "chats.table80.golden", res.stdout)
	for line := range strings.Lines(res.stdout) {
		assert.LessOrEqual(t, utf8.RuneCountInString(strings.TrimRight(line, "\n")), 80, "too wide: %q", line)
	}
	assert.Contains(t, res.stdout, "…", "long contexts are cut")
	assert.True(t, strings.HasSuffix(res.stdout, "\n40 chats\n"))

	for _, width := range []string{"40", "64", "100", "120", "200"} {
		vars["COLUMNS"] = width
		res := runCLI(t, vars, false, "chats", "--base-url", srv.URL, "--context-type", "RETURN")
		require.Equal(t, 0, res.code, res.stderr)
		w, _ := strconv.Atoi(width)
		for line := range strings.Lines(res.stdout) {
			if w >= 64 { // narrower, the fixed columns and the shortest cuts overflow
				assert.LessOrEqual(t, utf8.RuneCountInString(strings.TrimRight(line, "\n")), w, "too wide: %q", line)
			}
		}
	}
}

// TestJSONNamesIDsAlike checks every command's JSON: ids are named after what they
// identify (chatId, messageId, ...), never a bare "id".
func TestJSONNamesIDsAlike(t *testing.T) {
	srv, vars := fake(t)
	url := []string{"--base-url", srv.URL}
	var keys func(v any, into map[string]bool)
	keys = func(v any, into map[string]bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				into[k] = true
				keys(x, into)
			}
		case []any:
			for _, x := range v {
				keys(x, into)
			}
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"chats", "--json", "--status", "NEW"}, []string{"chatId", "orderId", "campaignId"}},
		{[]string{"chats", "--jsonl", "--context-type", "RETURN"}, []string{"chatId", "returnId"}},
		{[]string{"chat", "get", "5000003", "--json"}, []string{"chatId"}},
		{[]string{"chat", "new", "--order", "10043070", "--json"}, []string{"chatId"}},
		{[]string{"chat", "history", "5000003", "--json"}, []string{"chatId", "messageId"}},
		{[]string{"chat", "history", "5000003", "--jsonl"}, []string{"messageId"}},
		{[]string{"chat", "message", "5000003", "1000002", "--json"}, []string{"messageId"}},
		{[]string{"chat", "send", "5000003", "-m", "hi", "--json"}, []string{"chatId"}},
	} {
		res := runCLI(t, vars, false, append(tc.args, url...)...)
		require.Equal(t, 0, res.code, "%v: %s", tc.args, res.stderr)
		got := map[string]bool{}
		dec := json.NewDecoder(strings.NewReader(res.stdout))
		for dec.More() {
			var v any
			require.NoError(t, dec.Decode(&v))
			keys(v, got)
		}
		for _, k := range tc.want {
			assert.True(t, got[k], "%v: no %s in %s", tc.args, k, res.stdout)
		}
		assert.False(t, got["id"], "%v: a bare id in %s", tc.args, res.stdout)
	}
}

func TestProgressOnlyOnATerminalAndNeverOnStdout(t *testing.T) {
	srv, vars := fake(t)
	args := []string{"chats", "--base-url", srv.URL, "--jsonl"}
	piped := runCLI(t, vars, false, args...)
	require.Equal(t, 0, piped.code)
	assert.Empty(t, piped.stderr, "silent when stderr is not a terminal")

	term := runCLI(t, vars, true, args...)
	require.Equal(t, 0, term.code)
	assert.Contains(t, term.stderr, "pages 7, chats 130")
	assert.True(t, strings.HasSuffix(term.stderr, "\r\033[K"), "the progress line is cleared at the end")
	assert.Equal(t, piped.stdout, term.stdout, "progress never mixes into stdout")
	assert.NotContains(t, term.stdout, "pages")
}

func TestQuotaWaitShownOnTheProgressLine(t *testing.T) {
	// The fake's clock is real here, so that the one-second window really passes.
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithToken(token),
		chattest.WithQuota("getChats", chattest.Quota{Limit: 3, Window: time.Second}))
	defer srv.Close()
	vars := map[string]string{"YM_API_KEY": token, "YM_BUSINESS_ID": "100"}
	res := runCLI(t, vars, true, "chats", "--base-url", srv.URL, "--jsonl")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "quota for getChats spent: waiting until")
	assert.Len(t, strings.Split(strings.TrimSpace(res.stdout), "\n"), 130)
}

func TestRateLimitSaysTheQuotaInItsWindow(t *testing.T) {
	until := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		window time.Duration
		want   string
	}{
		{15 * time.Second, "(quota 1 per 15s)"},
		{20 * time.Second, "(quota 1 per 20s)"},
		{time.Hour, "(quota 1 per hour)"},
		{time.Minute, "(quota 1 per minute)"},
		{10 * time.Minute, "(quota 1 per 10m)"},
		{90 * time.Minute, "(quota 1 per 1h30m)"},
		{2 * time.Hour, "(quota 1 per 2h)"},
		{0, "(quota 1);"},
	} {
		err := &chatclient.RateLimitError{Operation: chatclient.OpGetChats, Limit: 1, Until: until, Window: tc.window}
		msg, failed := explain(err)
		assert.Equal(t, failedRateLimited, failed)
		assert.Contains(t, msg, tc.want, tc.window)
	}
}

func TestRateLimitFromTheFakeSaysItsWindow(t *testing.T) {
	// The fake's clock stands still, so that both calls fall in one 15s window.
	at := time.Date(2026, 11, 22, 10, 0, 1, 0, time.UTC)
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithToken(token), chattest.WithClock(func() time.Time { return at }),
		chattest.WithQuota("getChat", chattest.Quota{Limit: 1, Window: 15 * time.Second}))
	defer srv.Close()
	vars := map[string]string{"YM_API_KEY": token, "YM_BUSINESS_ID": "100"}
	args := []string{"chat", "get", "5000001", "--base-url", srv.URL, "--max-wait", "0"}
	require.Equal(t, 0, runCLI(t, vars, false, args...).code)
	res := runCLI(t, vars, false, args...)
	assert.Equal(t, 3, res.code, res.stderr)
	assert.Contains(t, res.stderr, "rate limited until 2026-11-22 13:00:15 MSK (quota 1 per 15s); retry later or raise --max-wait")
}
