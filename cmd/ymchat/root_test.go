package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestUsageErrorsAndExitCodes(t *testing.T) {
	// getChat allows 2 calls: "not found" and "token file works" spend them.
	srv, vars := fake(t, chattest.WithQuota("getChat", chattest.Quota{Limit: 2, Window: time.Hour}))
	url := []string{"--base-url", srv.URL}
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	emptyFile := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(emptyFile, nil, 0o600))

	cases := []struct {
		name    string
		vars    map[string]string
		args    []string
		code    int
		message string
	}{
		{"no token", map[string]string{"YM_BUSINESS_ID": "100"}, []string{"chats"}, 2, "no token: set YM_API_KEY or use --token-file"},
		{"no business", map[string]string{"YM_API_KEY": token}, []string{"chats"}, 2, "no business: set --business or YM_BUSINESS_ID"},
		{"bad business", vars, []string{"chats", "--business", "x"}, 2, `invalid --business "x"`},
		{"bad business env", map[string]string{"YM_API_KEY": token, "YM_BUSINESS_ID": "0"}, []string{"chats"}, 2, `invalid YM_BUSINESS_ID "0": must be`},
		{"bad business flag over env", map[string]string{"YM_API_KEY": token, "YM_BUSINESS_ID": "7"}, []string{"chats", "--business", "-3"}, 2, `invalid --business "-3"`},
		{"bad redis env", map[string]string{"YM_API_KEY": token, "YM_BUSINESS_ID": "100", "YM_REDIS_URL": "mysql://x"}, []string{"chats"}, 2, `invalid YM_REDIS_URL: `},
		{"negative limit", vars, []string{"chats", "--limit", "-1"}, 2, "invalid --limit -1"},
		{"unknown status", vars, []string{"chats", "--status", "NEW,done"}, 2, `invalid --status: "done" is not one of NEW, `},
		{"duplicate type", vars, []string{"chats", "--type", "CHAT,CHAT"}, 2, "invalid --type: CHAT given twice\n"},
		{"duplicate type, other case", vars, []string{"chats", "--type", "ARBITRAGE", "--type", "CHAT,chat"}, 2, "invalid --type: CHAT given twice (as CHAT and chat)\n"},
		{"duplicate context type", vars, []string{"chats", "--context-type", "order,ORDER"}, 2, "invalid --context-type: ORDER given twice (as order and ORDER)"},
		{"duplicate order", vars, []string{"chats", "--order", "7,8", "--order", "7"}, 2, "invalid --order: 7 given twice"},
		{"order 0", vars, []string{"chats", "--order", "0"}, 2, `invalid --order "0": must be a whole number of at least 1`},
		{"chat new order x", vars, []string{"chat", "new", "--order", "x"}, 2, `invalid --order "x": must be a whole number of at least 1`},
		{"unknown flag", vars, []string{"chats", "--token", "x"}, 2, "unknown flag: --token"},
		{"json and jsonl", vars, []string{"chats", "--json", "--jsonl"}, 2, "none of the others can be"},
		{"unknown command", vars, []string{"chatz"}, 2, `unknown command "chatz"`},
		{"chat get without id", vars, []string{"chat", "get"}, 2, "accepts 1 arg"},
		{"chat get bad id", vars, []string{"chat", "get", "abc"}, 2, `invalid CHAT_ID "abc": must be a whole number of at least 1`},
		{"chat get id 0", vars, []string{"chat", "get", "0"}, 2, `invalid CHAT_ID "0": must be a whole number of at least 1`},
		{"chat new without target", vars, []string{"chat", "new"}, 2, "give exactly one of --order ID or --return ID"},
		{"chat new with both", vars, []string{"chat", "new", "--order", "1", "--return", "2"}, 2, "give exactly one"},
		{"missing token file", vars, []string{"chats", "--token-file", "/nonexistent/file"}, 2, "--token-file: no such file"},
		{"empty token file", vars, []string{"chats", "--token-file", emptyFile}, 2, "is empty"},
		{"plain http elsewhere", vars, []string{"chats", "--base-url", "http://example.com"}, 2, "invalid --base-url"},
		{"wrong token", map[string]string{"YM_API_KEY": "nope", "YM_BUSINESS_ID": "100"}, append([]string{"chats"}, url...), 1, "forbidden: the token is wrong or lacks access"},
		{"not found", vars, append([]string{"chat", "get", "42"}, url...), 1, "HTTP 404 Not Found: NOT_FOUND: chat 42 not found"},
		{"unknown order", vars, append([]string{"chat", "new", "--order", "1"}, url...), 1, "order 1 not found"},
		{"network", vars, []string{"chat", "get", "1", "--base-url", "http://127.0.0.1:1", "--timeout", "2s"}, 1, "connection refused"},
		{"token file works", map[string]string{"YM_BUSINESS_ID": "100"}, append([]string{"chat", "get", "5000003", "--token-file", tokenFile}, url...), 0, ""},
		{"rate limited", vars, append([]string{"chat", "get", "5000003", "--max-wait", "0"}, url...), 3, "rate limited until 2026-11-22 13:00:00 MSK (quota 2 per hour); retry later or raise --max-wait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, tc.vars, false, tc.args...)
			assert.Equal(t, tc.code, res.code, res.stderr)
			if tc.message != "" {
				assert.Contains(t, res.stderr, "ymchat: ")
				assert.Contains(t, res.stderr, tc.message)
				assert.Empty(t, res.stdout, "errors go to stderr")
			}
		})
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"chats", "--help"}, {"chat", "--help"}, {"chat", "get", "--help"}, {"chat", "new", "--help"}, {"demo", "--help"}, {"completion", "bash"}} {
		res := runCLI(t, nil, false, args...)
		assert.Equal(t, 0, res.code, args)
		assert.NotEmpty(t, res.stdout, args)
	}
	res := runCLI(t, nil, false, "--help")
	assert.Contains(t, res.stdout, "Exit codes: 0 success, 1 API or network error, 2 usage error, 3 rate limited,\n130 interrupted (Ctrl-C).")
}

func TestInterruptedEndsQuietlyWith130(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // as a Ctrl-C would
	for _, args := range [][]string{{"chats", "--fake"}, {"chat", "history", "5000008", "--fake", "--jsonl"}, {"demo"}} {
		res := runIn(t, ctx, "", nil, false, args...)
		assert.Equal(t, 130, res.code, args)
		if args[0] == "demo" {
			assert.Equal(t, "demo interrupted\n", res.stderr)
			continue
		}
		assert.Empty(t, res.stderr, "no error text: %v", args)
	}
}
