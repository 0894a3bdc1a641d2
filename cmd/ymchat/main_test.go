package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedNow is the time the golden files were made at.
var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, msk)

const token = "cli-SECRET-token-42"

type result struct {
	code           int
	stdout, stderr string
}

// syncBuf is a buffer safe for the concurrent writes of the demo's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func runCLI(t *testing.T, vars map[string]string, terminal bool, args ...string) result {
	t.Helper()
	return runIn(t, context.Background(), "", vars, terminal, args...)
}

// runIn runs the command with ctx and stdin.
func runIn(t *testing.T, ctx context.Context, stdin string, vars map[string]string, terminal bool, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuf
	code := run(ctx, args, &env{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout, stderr: &stderr,
		getenv:     func(k string) string { return vars[k] },
		now:        func() time.Time { return fixedNow },
		isTerminal: func(w any) bool { return terminal && w == any(&stderr) },
		width:      func() int { n, _ := strconv.Atoi(vars["COLUMNS"]); return n },
	})
	res := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	assert.NotContains(t, res.stdout, token, "the token never appears in output")
	assert.NotContains(t, res.stderr, token, "the token never appears in output")
	return res
}

func fake(t *testing.T, opts ...chattest.Option) (*chattest.Server, map[string]string) {
	t.Helper()
	srv := chattest.NewServer(append([]chattest.Option{chattest.WithDefaultFixture(), chattest.WithToken(token),
		chattest.WithClock(func() time.Time { return fixedNow })}, opts...)...)
	t.Cleanup(srv.Close)
	return srv, map[string]string{"YM_API_KEY": token, "YM_BUSINESS_ID": "100"}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./cmd/ymchat -update to create it")
	assert.Equal(t, string(want), got, "output differs from %s (go test ./cmd/ymchat -update rewrites it)", path)
}

func TestChatsOutputMatchesGoldenFiles(t *testing.T) {
	srv, vars := fake(t)
	cases := []struct {
		file string
		args []string
	}{
		{"chats.table.golden", []string{"chats", "--status", "WAITING_FOR_PARTNER"}},
		{"chats.json.golden", []string{"chats", "--context-type", "return", "--json"}},
		{"chats.jsonl.golden", []string{"chats", "--type", "ARBITRAGE", "--jsonl"}},
		{"chats.limit.golden", []string{"chats", "--limit", "3", "--json"}},
		{"chat-get.golden", []string{"chat", "get", "5000003"}},
		{"chat-get.json.golden", []string{"chat", "get", "5000009", "--json"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res := runCLI(t, vars, false, append(tc.args, "--base-url", srv.URL)...)
			require.Equal(t, 0, res.code, res.stderr)
			golden(t, tc.file, res.stdout)
		})
	}
}

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

// firstWrite records how many requests the fake had seen when stdout was first written.
type firstWrite struct {
	syncBuf
	srv  *chattest.Server
	once sync.Once
	seen int
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(func() { f.seen = len(f.srv.Requests()) })
	return f.syncBuf.Write(p)
}

func TestTableStreamsUnlessSorted(t *testing.T) {
	srv, vars := fake(t)
	for _, tc := range []struct {
		sort      string
		streaming bool
	}{{"", true}, {"updated", false}} {
		srv.ResetRequests()
		out := &firstWrite{srv: srv}
		args := []string{"chats", "--base-url", srv.URL}
		if tc.sort != "" {
			args = append(args, "--sort", tc.sort)
		}
		code := run(t.Context(), args, &env{stdin: strings.NewReader(""), stdout: out, stderr: io.Discard,
			getenv: func(k string) string { return vars[k] }, now: func() time.Time { return fixedNow },
			isTerminal: func(any) bool { return false }})
		require.Equal(t, 0, code)
		if tc.streaming {
			assert.Equal(t, 1, out.seen, "the first rows are out after the first page")
		} else {
			assert.Equal(t, 7, out.seen, "sorting waits for every page")
		}
	}
}

func TestSortByUpdate(t *testing.T) {
	srv, vars := fake(t)
	times := func(args ...string) []time.Time {
		res := runCLI(t, vars, false, append([]string{"chats", "--base-url", srv.URL, "--jsonl"}, args...)...)
		require.Equal(t, 0, res.code, res.stderr)
		var ts []time.Time
		for line := range strings.Lines(res.stdout) {
			var c chatJSON
			require.NoError(t, json.Unmarshal([]byte(line), &c))
			ts = append(ts, c.UpdatedAt)
		}
		require.Len(t, ts, 130)
		return ts
	}
	asc, desc := times("--sort", "updated"), times("--sort", "-updated")
	for i := 1; i < len(asc); i++ {
		assert.False(t, asc[i].Before(asc[i-1]), "oldest update first")
		assert.False(t, desc[i].After(desc[i-1]), "newest first")
	}
	res := runCLI(t, vars, false, "chats", "--base-url", srv.URL, "--sort", "updated", "--status", "WAITING_FOR_PARTNER")
	require.Equal(t, 0, res.code)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	assert.True(t, strings.HasPrefix(lines[1], "5000078 "), "the longest waiting first: %s", lines[1])
	assert.Equal(t, "40 chats", lines[len(lines)-1])
	for _, args := range [][]string{{"--sort", "age"}, {"--sort", "updated", "--limit", "3"}} {
		res := runCLI(t, vars, false, append([]string{"chats", "--base-url", srv.URL}, args...)...)
		assert.Equal(t, 2, res.code, args)
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

func TestOutputFormatsAgree(t *testing.T) {
	srv, vars := fake(t)
	base := []string{"chats", "--base-url", srv.URL, "--status", "NEW,FINISHED", "--context-type", "ORDER"}
	asJSON := runCLI(t, vars, false, append(base, "--json")...)
	asJSONL := runCLI(t, vars, false, append(base, "--jsonl")...)
	table := runCLI(t, vars, false, base...)
	require.Equal(t, 0, asJSON.code)

	var doc struct {
		Chats []chatJSON `json:"chats"`
	}
	require.NoError(t, json.Unmarshal([]byte(asJSON.stdout), &doc))
	lines := strings.Split(strings.TrimSpace(asJSONL.stdout), "\n")
	require.Len(t, lines, len(doc.Chats))
	require.Greater(t, len(doc.Chats), 20, "more than one page")
	tableLines := strings.Split(strings.TrimSpace(table.stdout), "\n")
	require.Len(t, tableLines, len(doc.Chats)+2, "a header, a row per chat and the count")
	assert.Equal(t, fmt.Sprintf("%d chats", len(doc.Chats)), tableLines[len(tableLines)-1])
	for i, line := range lines {
		var c chatJSON
		require.NoError(t, json.Unmarshal([]byte(line), &c))
		assert.Equal(t, doc.Chats[i], c)
		assert.Contains(t, []string{"NEW", "FINISHED"}, c.Status)
		assert.Equal(t, "ORDER", c.Context)
		assert.Equal(t, c.ID, mustAtoi(t, strings.Fields(tableLines[i+1])[0]))
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}

func TestLimitAndResume(t *testing.T) {
	srv, vars := fake(t)
	resumeArgs := func(stderr string) []string {
		t.Helper()
		_, cmd, ok := strings.Cut(stderr, "more chats follow: resume with ymchat ")
		require.True(t, ok, stderr)
		return strings.Fields(cmd)
	}
	for _, filters := range [][]string{nil, {"--status", "WAITING_FOR_PARTNER,new", "--context-type", "ORDER"}, {"--type", "CHAT", "--business=100"}} {
		t.Run(strings.Join(filters, " "), func(t *testing.T) {
			base := append([]string{"chats", "--base-url", srv.URL, "--jsonl"}, filters...)
			all := runCLI(t, vars, false, base...)
			require.Equal(t, 0, all.code, all.stderr)
			lines := strings.Split(strings.TrimSpace(all.stdout), "\n")
			require.Greater(t, len(lines), 25)

			// 10 at a time, each run being exactly the command the last one printed.
			args, got := append(base, "--limit", "10"), ""
			for range 20 {
				res := runCLI(t, vars, false, args...)
				require.Equal(t, 0, res.code, res.stderr)
				got += res.stdout
				if res.stderr == "" {
					break
				}
				args = resumeArgs(res.stderr)
				assert.Equal(t, 1, strings.Count(strings.Join(args, " "), "--page-token"), args)
			}
			assert.Equal(t, all.stdout, got, "resuming continues exactly where --limit stopped")
		})
	}
	res := runCLI(t, vars, false, "chats", "--base-url", srv.URL, "--status", "NEW", "--limit", "2")
	require.Equal(t, 0, res.code)
	assert.Regexp(t, `^more chats follow: resume with ymchat chats --base-url http://\S+ --status NEW --limit 2 --page-token \S+\n$`, res.stderr)
	assert.Equal(t, "ymchat chats --status 'A B' --page-token 'x'\\''y'", resumeCommand([]string{"chats", "--status", "A B", "--page-token=old"}, "x'y"))
}

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
		{"rate limited", vars, append([]string{"chat", "get", "5000003", "--max-wait", "0"}, url...), 3, "rate limited until 2026-11-22 13:00:00 MSK (quota 2/h); retry later or raise --max-wait"},
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

func TestDemoRunsWithNoAccount(t *testing.T) {
	res := runCLI(t, nil, false, "demo")
	require.Equal(t, 0, res.code, "%s\n%s", res.stderr, res.stdout)
	out := res.stdout
	for _, want := range []string{
		"1. Chats waiting for your answer (business 100)",
		"40 chats, 20 per page over 2 pages",
		"2. Reading the conversation of the chat waiting longest",
		"chat 5000003, order 10043001, Tatiana B.: 4 messages; the last 3:",
		"CUSTOMER  #1000004",
		"3. Answering it with SendMessage",
		"chat 5000003: WAITING_FOR_PARTNER → WAITING_FOR_CUSTOMER\n",
		"4. Starting a chat about order 10043070",
		"came back: the same one.",
		"5. A customer writes; the Market notifies; the client answers",
		"the fake Market registered it (the handler answered its PING 200).",
		`CHAT_MESSAGE_SENT arrived: chat 5000003, messageId "`,
		"fetched it: CUSTOMER wrote",
		"chat 5000003: WAITING_FOR_PARTNER → WAITING_FOR_CUSTOMER again.",
		"6. The Market fails once (HTTP 503)",
		"1 retry, answered (status WAITING_FOR_CUSTOMER). The caller saw no error.",
		"7. The hourly quota of getChat is spent (1000 calls)",
		"WithMaxWait(0), no time to wait: GetChat returns a *RateLimitError",
		"chatclient: getChat: rate limited: quota of 1000 requests spent until",
		"RetryAfter ",
		"WithMaxWait(5s), a budget that covers the reset: the same call waited",
		"for it and then succeeded.",
		"8. Two services of the seller",
		"a naive hand-written client (on a 420 it sleeps 1 s",
		"naive   library   library+Redis",
		"refused counts the Market's 420 answers",
	} {
		assert.Contains(t, out, want)
	}
	// The story, not the timing: unshared refusals vary; shared ones are none, and
	// nothing fails either way.
	row := func(name string) []string {
		for line := range strings.Lines(out) {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), name); ok {
				return strings.Fields(rest)
			}
		}
		t.Fatalf("no %q row in:\n%s", name, out)
		return nil
	}
	assert.Equal(t, "0", row("refused 420 (parallel limit)")[2], "sharing the limits through Redis: no refusal")
	answered, failed := row("answered"), row("failed")
	assert.Equal(t, []string{"96", "96"}, answered[1:], "the library answers every call")
	assert.Equal(t, []string{"0", "0"}, failed[1:])
	assert.Equal(t, 96, int(mustAtoi(t, answered[0])+mustAtoi(t, failed[0])), "the naive client's calls add up")
	assert.NotContains(t, out, "failed:")
	for line := range strings.Lines(out) {
		assert.LessOrEqual(t, utf8.RuneCountInString(strings.TrimRight(line, "\n")), 80, "too wide: %q", line)
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

func TestHelpNamesRealValues(t *testing.T) {
	for _, args := range [][]string{{"chats", "--help"}, {"chat", "new", "--help"}, {"chat", "history", "--help"}} {
		res := runCLI(t, nil, false, args...)
		require.Equal(t, 0, res.code)
		assert.NotContains(t, res.stdout, "int64", args)
		assert.NotContains(t, res.stdout, "default []", args)
		assert.NotContains(t, res.stdout, "strings", args)
		assert.Contains(t, res.stdout, "--business ID", args)
	}
	res := runCLI(t, nil, false, "chats", "--help")
	assert.Contains(t, res.stdout, "--order IDs ")
	assert.Contains(t, res.stdout, "--status STATUS ")
	res = runCLI(t, nil, false, "chat", "new", "--help")
	assert.Contains(t, res.stdout, "--order ID ")

	for _, args := range [][]string{{"demo", "--help"}, {"version", "--help"}, {"completion", "--help"}, {"completion", "bash", "--help"}, {"listen", "--help"}, {"fake", "--help"}} {
		res := runCLI(t, nil, false, args...)
		require.Equal(t, 0, res.code, args)
		assert.NotContains(t, res.stdout, "--business ID", args)
		assert.NotContains(t, res.stdout, "Global Flags", args)
	}
	// ...and only there.
	res = runCLI(t, nil, false, "chat", "get", "--help")
	assert.Contains(t, res.stdout, "--business ID")
}

func TestCompletionNamesRealValues(t *testing.T) {
	complete := func(args ...string) []string {
		res := runCLI(t, nil, false, append([]string{"__complete"}, args...)...)
		require.Equal(t, 0, res.code, res.stderr)
		var out []string
		for line := range strings.Lines(res.stdout) {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, ":") {
				out = append(out, strings.SplitN(line, "\t", 2)[0])
			}
		}
		return out
	}
	assert.Contains(t, complete("chats", "--status", ""), "WAITING_FOR_PARTNER")
	assert.ElementsMatch(t, []string{"WAITING_FOR_ARBITER", "WAITING_FOR_CUSTOMER", "WAITING_FOR_MARKET", "WAITING_FOR_PARTNER"},
		complete("chats", "--status", "waiting_for_"))
	got := complete("chats", "--status", "NEW,")
	assert.Contains(t, got, "NEW,FINISHED")
	assert.NotContains(t, got, "NEW,NEW", "a value given already is not offered again")
	assert.ElementsMatch(t, []string{"CHAT", "ARBITRAGE"}, complete("chats", "--type", ""))
	assert.Contains(t, complete("chats", "--context-type", ""), "RETURN")
	assert.Equal(t, []string{"updated", "-updated"}, complete("chats", "--sort", ""))
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		res := runCLI(t, nil, false, args...)
		require.Equal(t, 0, res.code, res.stderr)
		assert.True(t, strings.HasPrefix(res.stdout, "ymchat "), res.stdout)
		assert.Equal(t, "ymchat "+version()+"\n", res.stdout)
	}
	assert.NotEmpty(t, version())
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

// cancelOn cancels when what it writes contains a string: a Ctrl-C at that point.
type cancelOn struct {
	syncBuf
	at     string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	n, err := c.syncBuf.Write(p)
	if strings.Contains(c.String(), c.at) {
		c.cancel()
	}
	return n, err
}

func TestDemoInterruptedMidwaySaysSoOnce(t *testing.T) {
	for _, at := range []string{"2. Reading", "5. A customer writes", "7. The hourly quota", "8. Two services"} {
		t.Run(at, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := &cancelOn{at: at, cancel: cancel}
			var stderr syncBuf
			code := run(ctx, []string{"demo"}, &env{stdin: strings.NewReader(""), stdout: out, stderr: &stderr,
				getenv: func(string) string { return "" }, now: time.Now, isTerminal: func(any) bool { return false }})
			assert.Equal(t, 130, code)
			assert.Equal(t, "demo interrupted\n", stderr.String(), "one line, no cascade of errors")
			assert.NotContains(t, out.String(), "context canceled")
			assert.NotContains(t, out.String(), "Next: point it at your account")
		})
	}
}
