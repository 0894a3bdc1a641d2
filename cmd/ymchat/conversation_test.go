package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestConversationOutputMatchesGoldenFiles(t *testing.T) {
	srv, vars := fake(t)
	cases := []struct {
		file string
		args []string
	}{
		{"history.golden", []string{"chat", "history", "5000003"}},
		{"history.jsonl.golden", []string{"chat", "history", "5000004", "--jsonl"}},
		{"history.limit.golden", []string{"chat", "history", "5000008", "--from", "1000200", "--limit", "3"}},
		{"message.golden", []string{"chat", "message", "5000005", "1000015"}},
		{"message.json.golden", []string{"chat", "message", "5000002", "1000006", "--json"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res := runCLI(t, vars, false, append(tc.args, "--base-url", srv.URL)...)
			require.Equal(t, 0, res.code, res.stderr)
			// Attachment URLs point at the fake, on a port of the moment.
			golden(t, tc.file, strings.ReplaceAll(res.stdout, srv.URL, "http://FAKE"))
		})
	}
}

func TestHistoryAllPagesAndFormatsAgree(t *testing.T) {
	srv, vars := fake(t)
	base := []string{"chat", "history", "5000008", "--base-url", srv.URL}
	asJSONL := runCLI(t, vars, false, append(base, "--jsonl")...)
	asJSON := runCLI(t, vars, false, append(base, "--json")...)
	table := runCLI(t, vars, false, base...)
	require.Equal(t, 0, asJSONL.code, asJSONL.stderr)
	require.Equal(t, 0, asJSON.code, asJSON.stderr)
	require.Equal(t, 0, table.code, table.stderr)

	var doc struct {
		ChatID   int64         `json:"chatId"`
		Messages []messageJSON `json:"messages"`
	}
	require.NoError(t, json.Unmarshal([]byte(asJSON.stdout), &doc))
	assert.Equal(t, int64(5000008), doc.ChatID)
	require.Len(t, doc.Messages, 300, "every page")
	lines := strings.Split(strings.TrimSpace(asJSONL.stdout), "\n")
	require.Len(t, lines, 300)
	for i, line := range lines {
		var m messageJSON
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		assert.Equal(t, doc.Messages[i].ID, m.ID)
		if i > 0 {
			assert.Greater(t, m.ID, doc.Messages[i-1].ID, "oldest first")
		}
	}
	assert.Equal(t, 300, strings.Count(table.stdout, " MSK  "), "a header line per message")

	limited := runCLI(t, vars, false, append(base, "--jsonl", "--limit", "120")...)
	require.Equal(t, 0, limited.code)
	assert.Equal(t, strings.Join(lines[:120], "\n")+"\n", limited.stdout, "--limit stops after N, across pages")
}

func TestSendMessage(t *testing.T) {
	srv, vars := fake(t)
	url := []string{"--base-url", srv.URL}
	res := runCLI(t, vars, false, append([]string{"chat", "send", "5000003", "--message", "Hello from the CLI"}, url...)...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, res.stdout, "nothing on stdout")
	assert.Equal(t, "message sent to chat 5000003\n", res.stderr)
	msgs := srv.Messages(100, 5000003)
	last := msgs[len(msgs)-1]
	assert.Equal(t, "Hello from the CLI", last.Message)
	assert.Equal(t, chatclient.SenderPartner, last.Sender)
	c, _ := srv.Chat(100, 5000003)
	assert.Equal(t, chatclient.StatusWaitingForCustomer, c.Status)

	for _, args := range [][]string{{"chat", "send", "5000003"}, {"chat", "send", "5000003", "--message", "-"}} {
		res = runIn(t, t.Context(), "Строка один\nline two\n", vars, false, append(args, url...)...)
		require.Equal(t, 0, res.code, res.stderr)
		msgs = srv.Messages(100, 5000003)
		assert.Equal(t, "Строка один\nline two", msgs[len(msgs)-1].Message, "stdin, one final newline dropped")
	}

	res = runCLI(t, vars, false, append([]string{"chat", "send", "5000003", "-m", "ack", "--json"}, url...)...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.JSONEq(t, `{"chatId":5000003,"sent":true}`, res.stdout)
	assert.Empty(t, res.stderr)
}

func TestSendFile(t *testing.T) {
	srv, vars := fake(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "invoice.pdf")
	require.NoError(t, os.WriteFile(path, []byte("%PDF-1.4 a small invoice"), 0o600))
	res := runCLI(t, vars, false, "chat", "send-file", "5000003", path, "--base-url", srv.URL)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, res.stdout)
	assert.Equal(t, "file invoice.pdf sent to chat 5000003\n", res.stderr)
	msgs := srv.Messages(100, 5000003)
	last := msgs[len(msgs)-1]
	require.Len(t, last.Payload, 1)
	assert.Equal(t, "invoice.pdf", last.Payload[0].Name)
	assert.EqualValues(t, 24, last.Payload[0].Size)
}

func TestConversationUsageErrorsSendNothing(t *testing.T) {
	srv, vars := fake(t)
	url := []string{"--base-url", srv.URL}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	big := filepath.Join(dir, "big.bin")
	require.NoError(t, os.WriteFile(big, make([]byte, chatclient.MaxFileSize+1), 0o600))
	long := strings.Repeat("я", chatclient.MaxMessageLength+1)

	cases := []struct {
		name, stdin string
		args        []string
		message     string
	}{
		{"history without id", "", []string{"chat", "history"}, "accepts 1 arg"},
		{"history bad id", "", []string{"chat", "history", "x"}, `invalid CHAT_ID "x"`},
		{"history bad from", "", []string{"chat", "history", "5000003", "--from", "0"}, `invalid --from "0": must be a whole number of at least 1`},
		{"history negative limit", "", []string{"chat", "history", "5000003", "--limit", "-2"}, "invalid --limit -2"},
		{"history json and jsonl", "", []string{"chat", "history", "5000003", "--json", "--jsonl"}, "if any flags in the group [json jsonl]"},
		{"message bad id", "", []string{"chat", "message", "5000003", "0"}, `invalid MESSAGE_ID "0"`},
		{"message one arg", "", []string{"chat", "message", "5000003"}, "accepts 2 arg"},
		{"send empty", "", []string{"chat", "send", "5000003", "--message", ""}, "invalid --message: must not be empty"},
		{"send blank", "", []string{"chat", "send", "5000003", "--message", " \t "}, "invalid --message: must not be empty"},
		{"send too long", "", []string{"chat", "send", "5000003", "--message", long}, "invalid --message: must be at most 4096 characters (got 4097 characters)"},
		{"send too long stdin", long, []string{"chat", "send", "5000003"}, "invalid --message (from stdin): must be at most 4096"},
		{"send empty stdin", "\n", []string{"chat", "send", "5000003", "-m", "-"}, "invalid --message (from stdin): must not be empty"},
		{"send bad chat", "", []string{"chat", "send", "chat", "-m", "hi"}, `invalid CHAT_ID "chat"`},
		{"file missing", "", []string{"chat", "send-file", "5000003", filepath.Join(dir, "nope.pdf")}, "PATH " + filepath.Join(dir, "nope.pdf") + ": no such file"},
		{"file is a directory", "", []string{"chat", "send-file", "5000003", dir}, "PATH " + dir + " is a directory"},
		{"file empty", "", []string{"chat", "send-file", "5000003", empty}, "PATH " + empty + " is empty; nothing sent"},
		{"file too big", "", []string{"chat", "send-file", "5000003", big}, "PATH " + big + " is 5.0 MiB, more than the Market's 5 MiB"},
		{"file without path", "", []string{"chat", "send-file", "5000003"}, "accepts 2 arg"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runIn(t, t.Context(), tc.stdin, vars, false, append(tc.args, url...)...)
			assert.Equal(t, 2, res.code, res.stderr)
			assert.Contains(t, res.stderr, "ymchat: "+tc.message)
			assert.Empty(t, res.stdout)
		})
	}
	assert.Empty(t, srv.Requests(), "a usage error sends nothing")
}

func TestMaybeDeliveredSaysWhatTheHistoryTold(t *testing.T) {
	t.Run("the history cannot be read", func(t *testing.T) {
		srv, vars := fake(t)
		srv.Script("sendMessageToChat", chattest.DropAfter())
		var faults []chattest.Fault
		for range 10 {
			faults = append(faults, chattest.StatusFault(500, "E", "x"))
		}
		srv.Script("getChatHistory", faults...)
		res := runCLI(t, vars, false, "chat", "send", "5000003", "-m", "maybe", "--base-url", srv.URL, "--landing-window", "1ms")
		assert.Equal(t, 1, res.code)
		assert.Contains(t, res.stderr, "waiting 0s for it to land, then reading the chat's history (nothing is sent again)")
		assert.Contains(t, res.stderr, "ymchat: the message may or may not have reached chat 5000003")
		assert.Contains(t, res.stderr, "Look at the chat (ymchat chat history 5000003) before sending it again")
		assert.Empty(t, res.stdout)
	})
	t.Run("the history does not hold it", func(t *testing.T) {
		srv, vars := fake(t)
		srv.Script("sendMessageToChat", chattest.StatusFault(503, "UNAVAILABLE", "later"))
		res := runCLI(t, vars, false, "chat", "send", "5000003", "-m", "maybe", "--base-url", srv.URL, "--landing-window", "1ms")
		assert.Equal(t, 1, res.code)
		assert.Contains(t, res.stderr, "does not hold it: the Market did not act as far as the history tells, so sending it again is safe")
	})
	t.Run("found in the history", func(t *testing.T) {
		srv, vars := fake(t)
		srv.Script("sendMessageToChat", chattest.DropAfter())
		res := runCLI(t, vars, false, "chat", "send", "5000003", "-m", "landed", "--base-url", srv.URL, "--landing-window", "1ms")
		assert.Equal(t, 0, res.code, res.stderr)
		assert.Contains(t, res.stderr, "message sent to chat 5000003")
	})
	t.Run("a landing window of 0 is a usage error", func(t *testing.T) {
		srv, vars := fake(t)
		res := runCLI(t, vars, false, "chat", "send", "5000003", "-m", "x", "--base-url", srv.URL, "--landing-window", "0s")
		assert.Equal(t, 2, res.code)
		assert.Contains(t, res.stderr, "--landing-window")
		assert.Empty(t, srv.Requests())
	})
}

func TestConversationAgainstFakeFlag(t *testing.T) {
	res := runCLI(t, nil, false, "chat", "history", "5000006", "--fake", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var doc struct {
		Messages []messageJSON `json:"messages"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &doc))
	assert.Len(t, doc.Messages, 3)

	res = runCLI(t, nil, false, "chat", "send", "5000003", "--fake", "-m", "hello")
	assert.Equal(t, 0, res.code, res.stderr)
	res = runCLI(t, nil, false, "chat", "message", "5000003", "1", "--fake")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "404")
}

func TestWaitsAndPromptsSayWhatTheyWaitFor(t *testing.T) {
	srv, vars := fake(t)
	res := runIn(t, t.Context(), "Hello from the terminal\n", vars, true, "chat", "send", "5000003", "--base-url", srv.URL)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "Reading the message from stdin: type it, then press Ctrl-D")

	// A spent quota: history says on the terminal what it waits for.
	srv.Script("getChatHistory", chattest.SpentQuota(1, fixedNow.Add(time.Second)))
	res = runCLI(t, vars, true, "chat", "history", "5000003", "--base-url", srv.URL)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "quota for getChatHistory spent: waiting until")

	// Not a terminal: nothing on stderr.
	res = runIn(t, t.Context(), "Hello from a pipe\n", vars, false, "chat", "send", "5000003", "--base-url", srv.URL)
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stderr, "Reading the message")
}
