package main

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoRunsWithNoAccount(t *testing.T) {
	res := runCLI(t, nil, false, "demo")
	require.Equal(t, 0, res.code, "%s\n%s", res.stderr, res.stdout)
	out := res.stdout
	assertDemoSteps(t, out)
	assert.Contains(t, out, "Two runs on the same fake Market")
	assert.Contains(t, out, "naive   library\n", "no Redis given: no third column")
	assert.NotContains(t, out, "library+Redis")
	assert.Contains(t, out, "\n   With a Redis they share the 4 and none is refused: ymchat demo --redis URL\n",
		"one line says how to see the shared limits")
	answered, failed := demoRow(t, out, "answered"), demoRow(t, out, "failed")
	assert.Equal(t, []string{"96"}, answered[1:], "the library answers every call")
	assert.Equal(t, []string{"0"}, failed[1:])
	assert.Equal(t, 96, int(mustAtoi(t, answered[0])+mustAtoi(t, failed[0])), "the naive client's calls add up")
}

// TestDemoSharesLimitsThroughTheRedisGiven runs the demo's last step a third time
// through a Redis named by --redis or YM_REDIS_URL, under a prefix of its own.
func TestDemoSharesLimitsThroughTheRedisGiven(t *testing.T) {
	for _, how := range []string{"--redis", "YM_REDIS_URL"} {
		t.Run(how, func(t *testing.T) {
			mr := miniredis.RunT(t)
			url := "redis://" + mr.Addr() + "/0"
			args, vars := []string{"demo"}, map[string]string{}
			if how == "--redis" {
				args = append(args, "--redis", url)
				vars["YM_REDIS_URL"] = "redis://127.0.0.1:1/0" // the flag comes first
			} else {
				vars["YM_REDIS_URL"] = url
			}
			res := runCLI(t, vars, false, args...)
			require.Equal(t, 0, res.code, "%s\n%s", res.stderr, res.stdout)
			out := res.stdout
			assertDemoSteps(t, out)
			assert.Contains(t, out, "Three runs on the same fake Market")
			assert.Contains(t, out, "naive   library   library+Redis\n")
			assert.NotContains(t, out, "ymchat demo --redis URL")
			assert.Equal(t, "0", demoRow(t, out, "refused 420 (parallel limit)")[2], "sharing the limits through Redis: no refusal")
			answered, failed := demoRow(t, out, "answered"), demoRow(t, out, "failed")
			assert.Equal(t, []string{"96", "96"}, answered[1:], "the library answers every call")
			assert.Equal(t, []string{"0", "0"}, failed[1:])
			assert.Empty(t, res.stderr, "Redis answered: no fallback warning")
			keys := mr.Keys()
			require.NotEmpty(t, keys, "the limits were kept in Redis")
			for _, k := range keys {
				assert.True(t, strings.HasPrefix(k, "ymchat:demo:"), "a demo's keys stay apart from a fleet's: %s", k)
			}
		})
	}
}

func TestDemoRefusesAnInvalidRedisURL(t *testing.T) {
	res := runCLI(t, map[string]string{"YM_REDIS_URL": "localhost:6379"}, false, "demo")
	assert.Equal(t, 2, res.code, res.stdout)
	assert.Contains(t, res.stderr, "invalid YM_REDIS_URL")
	assert.Empty(t, res.stdout, "nothing runs on a mistaken command line")
}

func TestDemoRefusesARedisThatDoesNotAnswerBeforeItStarts(t *testing.T) {
	res := runCLI(t, nil, false, "demo", "--redis", "redis://127.0.0.1:1/0")
	assert.Equal(t, 1, res.code, res.stdout)
	assert.Contains(t, res.stderr, "demo: --redis: ")
	assert.Empty(t, res.stdout, "no step runs that would show nothing shared")
}

// demoRow returns the fields of the burst table's row name, after the name.
func demoRow(t *testing.T, out, name string) []string {
	t.Helper()
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), name); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("no %q row in:\n%s", name, out)
	return nil
}

// assertDemoSteps checks the steps every run of the demo shows, with or without a
// Redis, and that no line is wider than 80 columns.
func assertDemoSteps(t *testing.T, out string) {
	t.Helper()
	assert.NotContains(t, out, "hold no messages yet", "the chat opened is the table's first row")
	for _, want := range []string{
		"1. Chats waiting for your answer (business 100)",
		"40 chats, 20 per page over 2 pages",
		"2. Reading the conversation of the chat waiting longest",
		"   5000078  order 10043045  Ivan P. ",
		"chat 5000078, order 10043045, Ivan P.: 4 messages; the last 3:",
		"CUSTOMER  #990004",
		"3. Answering it with SendMessage",
		"chat 5000078: WAITING_FOR_PARTNER → WAITING_FOR_CUSTOMER\n",
		"4. Starting a chat about order 10043070",
		"came back: the same one.",
		"5. A customer writes; the Market notifies; the client answers",
		"the fake Market registered it (the handler answered its PING 200).",
		`CHAT_MESSAGE_SENT arrived: chat 5000078, messageId "`,
		"fetched it: CUSTOMER wrote",
		"chat 5000078: WAITING_FOR_PARTNER → WAITING_FOR_CUSTOMER again.",
		"6. A sticker no push announces; a restart that repeats nothing",
		"swept the chats: its\n   handler got ",
		"The customer sends a sticker in chat 5000078: the Market pushes nothing.",
		"Restarted on the same file, the sweep handed over only what is new:\n" +
			"     NewMessage chat 5000078 #",
		" from CUSTOMER, no text: the sticker\n" +
			"     StatusChanged chat 5000078: WAITING_FOR_CUSTOMER → WAITING_FOR_PARTNER\n" +
			"   and nothing of the first run again.\n",
		"7. The Market fails once (HTTP 503)",
		"1 retry, answered (status WAITING_FOR_PARTNER). The caller saw no error.", // the sticker of step 6 is unanswered
		"8. The hourly quota of getChat is spent (1000 calls)",
		"WithMaxWait(0), no time to wait: GetChat returns a *RateLimitError",
		"chatclient: getChat: rate limited: quota of 1000 requests spent until",
		"RetryAfter ",
		"WithMaxWait(5s), a budget that covers the reset: the same call waited",
		"for it and then succeeded.",
		"9. Two services of the seller",
		"a naive hand-written client (on a 420 it sleeps 1 s",
		"refused counts the Market's 420 answers",
		"Next: point it at your account",
	} {
		assert.Contains(t, out, want)
	}
	// The story, not the timing: unshared refusals vary, and nothing the library
	// sends fails.
	assert.NotContains(t, out, "failed:")
	for line := range strings.Lines(out) {
		assert.LessOrEqual(t, utf8.RuneCountInString(strings.TrimRight(line, "\n")), 80, "too wide: %q", line)
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
	for _, at := range []string{"2. Reading", "5. A customer writes", "6. A sticker", "8. The hourly quota", "9. Two services"} {
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
