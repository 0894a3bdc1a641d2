package main

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoRunsWithNoAccount(t *testing.T) {
	res := runCLI(t, nil, false, "demo")
	require.Equal(t, 0, res.code, "%s\n%s", res.stderr, res.stdout)
	out := res.stdout
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
