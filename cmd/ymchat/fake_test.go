package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
)

func TestFakeServesUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuf
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake", "--addr", "127.0.0.1:0", "--token", "fake-tok", "--quota", "getChats=100/1s", "--parallel-limit", "2"},
			&env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
				now: time.Now, isTerminal: func(any) bool { return false }})
	}()
	urlRE := regexp.MustCompile(`serves (http://127\.0\.0\.1:\d+)\n`)
	var url string
	require.Eventually(t, func() bool {
		m := urlRE.FindStringSubmatch(stderr.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, "no URL printed: %s", stderr.String())
	out := stderr.String()
	assert.Contains(t, out, "  export YM_BASE_URL="+url+"\n  export YM_API_KEY=fake-tok\n  export YM_BUSINESS_ID=100\n")
	assert.Contains(t, out, "curl -H 'Api-Key: fake-tok' '"+url+"/v2/businesses/100/chat?chatId=5000003'")

	c, err := chatclient.New(chatclient.APIKey("fake-tok"), chatclient.WithBaseURL(url))
	require.NoError(t, err)
	chat, err := c.GetChat(ctx, 100, 5000003)
	require.NoError(t, err)
	assert.Equal(t, int64(5000003), chat.ID)
	n := 0
	for _, err := range c.Chats(ctx, 100, chatclient.Filter{}) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 130, n, "the shipped fixture")

	// And the CLI against it, as the printed line says.
	res := runCLI(t, map[string]string{"YM_API_KEY": "fake-tok", "YM_BASE_URL": url, "YM_BUSINESS_ID": "100"}, false, "chats", "--status", "NEW", "--jsonl")
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotEmpty(t, res.stdout)

	cancel() // as SIGINT would
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("fake did not stop")
	}
	assert.Empty(t, stdout.String())
}

func TestFakeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"fake", "--quota", "getChatz=1/1s"}, `invalid --quota "getChatz=1/1s": want OP=LIMIT/WINDOW with OP one of`},
		{[]string{"fake", "--quota", "getChats=x"}, `invalid --quota "getChats=x"`},
		{[]string{"fake", "--parallel-limit", "-1"}, "invalid --parallel-limit -1"},
		{[]string{"fake", "--fixture", "/nonexistent"}, "--fixture: open /nonexistent"},
		{[]string{"fake", "--addr", "256.1.1.1:1"}, "--addr: "},
	} {
		res := runCLI(t, nil, false, tc.args...)
		assert.Equal(t, 2, res.code, tc.args)
		assert.Contains(t, res.stderr, tc.msg)
	}
}

func TestFakeStateSurvivesARestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "fake.json")
	serve := func() (string, func() string) {
		ctx, cancel := context.WithCancel(t.Context())
		var stderr syncBuf
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"fake", "--addr", "127.0.0.1:0", "--state", state},
				&env{stdin: strings.NewReader(""), stdout: &stderr, stderr: &stderr, getenv: func(string) string { return "" },
					now: time.Now, isTerminal: func(any) bool { return false }})
		}()
		urlRE := regexp.MustCompile(`export YM_BASE_URL=(\S+)\n`)
		var url string
		require.Eventually(t, func() bool {
			m := urlRE.FindStringSubmatch(stderr.String())
			if m != nil {
				url = m[1]
			}
			return m != nil
		}, 30*time.Second, 10*time.Millisecond, "no URL printed: %s", stderr.String())
		return url, func() string { cancel(); require.Equal(t, 0, <-done, stderr.String()); return stderr.String() }
	}
	vars := map[string]string{"YM_API_KEY": "chattest-token", "YM_BUSINESS_ID": "100"}

	url, stop := serve()
	vars["YM_BASE_URL"] = url
	res := runCLI(t, vars, false, "trigger", "customer-writes", "5000003", "-m", "Запомни меня")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, stop(), "state saved to "+state)

	url, stop = serve()
	vars["YM_BASE_URL"] = url
	res = runCLI(t, vars, false, "chat", "history", "5000003", "--jsonl")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "Запомни меня", "the message written before the restart")
	assert.Contains(t, stop(), "(its state restored from "+state+")")
}

func TestFakeVerboseLogsEachRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuf
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake", "-v", "--addr", "127.0.0.1:0", "--token", "fake-tok"},
			&env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
				now: time.Now, isTerminal: func(any) bool { return false }})
	}()
	urlRE := regexp.MustCompile(`serves (http://127\.0\.0\.1:\d+)\n`)
	require.Eventually(t, func() bool { return urlRE.MatchString(stderr.String()) }, 10*time.Second, 10*time.Millisecond, "no URL printed: %s", stderr.String())
	url := urlRE.FindStringSubmatch(stderr.String())[1]

	get := func(path, token string) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
		require.NoError(t, err)
		req.Header.Set("Api-Key", token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, get("/v2/businesses/100/chat?chatId=5000003", "fake-tok"))
	require.Equal(t, 403, get("/v2/businesses/100/chat?chatId=5000003", "wrong"))
	require.Equal(t, 204, get("/_fake/health", ""))

	cancel() // the log lines are all written once the fake has stopped
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("fake did not stop")
	}
	out := stderr.String()
	line := `(?m)^\d\d:\d\d:\d\d GET `
	assert.Regexp(t, line+`/v2/businesses/100/chat\?chatId=5000003 200 \d+(\.\d+)?m?s$`, out)
	assert.Regexp(t, line+`/v2/businesses/100/chat\?chatId=5000003 403 \d+(\.\d+)?m?s$`, out)
	assert.Regexp(t, line+`/_fake/health 204 \d+(\.\d+)?m?s$`, out, "the control endpoints too")
	assert.Empty(t, stdout.String())
}
