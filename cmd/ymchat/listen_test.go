package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/notify"
)

// listening runs ymchat listen in-process and returns its URL, its outputs and a
// function that cancels it (as a signal would) and returns the exit code.
func listening(t *testing.T, args ...string) (url string, stdout, stderr *syncBuf, stop func() int) {
	t.Helper()
	return serving(t, nil, append([]string{"listen", "--addr", "127.0.0.1:0"}, args...)...)
}

// serving runs a command that serves pushes (listen, inbox --listen) in-process with
// the variables vars, and returns what listening does once it listens.
func serving(t *testing.T, vars map[string]string, args ...string) (url string, stdout, stderr *syncBuf, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr = &syncBuf{}, &syncBuf{}
	done := make(chan int, 1)
	go func() {
		done <- runWriting(ctx, stdout, stderr, vars, args...)
	}()
	re := regexp.MustCompile(`listening on (https?://\S+)`)
	require.Eventually(t, func() bool { return re.MatchString(stderr.String()) }, 10*time.Second, 5*time.Millisecond, "stderr: %s", stderr)
	url = re.FindStringSubmatch(stderr.String())[1]
	stopped := false
	stop = func() int {
		if stopped {
			return -1
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not stop", args[0])
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return url, stdout, stderr, stop
}

func post(t *testing.T, url string, body any, header ...string) int {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestListenPrintsNotificationsAsJSONLines(t *testing.T) {
	url, stdout, stderr, stop := listening(t)
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, msk)
	assert.Equal(t, 200, post(t, url+"/notification", notify.Ping{Time: at}))
	assert.Equal(t, 200, post(t, url+"/notification", notify.ChatCreated{ChatID: 5000200, BusinessID: 100, CreatedAt: at}))
	sent := notify.ChatMessageSent{ChatID: 5000003, BusinessID: 100, MessageID: "1000321", SentAt: at.Add(time.Minute)}
	assert.Equal(t, 200, post(t, url+"/any/path", sent))
	assert.Equal(t, 200, post(t, url+"/notification", sent), "a repeat is answered 200")
	assert.Equal(t, 200, post(t, url, notify.ChatArbitrageStarted{ChatID: 5000004, BusinessID: 100, StartedAt: at}))
	assert.Equal(t, 200, post(t, url, map[string]any{"notificationType": "ORDER_CREATED", "orderId": 1}), "other types are answered, not printed")
	assert.Equal(t, 400, post(t, url, map[string]any{"notificationType": "CHAT_CREATED"}))

	assert.Equal(t, 0, stop(), "a cancelled context (a signal) exits 0")
	assert.Equal(t, `{"type":"CHAT_CREATED","businessId":100,"chatId":5000200,"time":"2026-11-22T09:00:00Z"}
{"type":"CHAT_MESSAGE_SENT","businessId":100,"chatId":5000003,"messageId":"1000321","time":"2026-11-22T09:01:00Z"}
{"type":"CHAT_ARBITRAGE_STARTED","businessId":100,"chatId":5000004,"time":"2026-11-22T09:00:00Z"}
`, stdout.String(), "one line per chat notification, nothing else")
	assert.Contains(t, stderr.String(), "accepting notifications from any address")
	assert.Contains(t, stderr.String(), "shutting down")
}

func TestListenAllowsOnlyGivenNetworks(t *testing.T) {
	sent := notify.ChatMessageSent{ChatID: 5000003, BusinessID: 100, MessageID: "7", SentAt: time.Now()}
	t.Run("market only", func(t *testing.T) {
		url, stdout, _, stop := listening(t, "--allow-ip", "market")
		assert.Equal(t, 403, post(t, url, sent), "127.0.0.1 is not the Market")
		assert.Equal(t, 403, post(t, url, sent, "X-Forwarded-For", "5.45.207.10"), "nobody trusts this header without --trusted-proxy")
		assert.Equal(t, 0, stop())
		assert.Empty(t, stdout.String())
	})
	t.Run("behind a trusted proxy", func(t *testing.T) {
		url, stdout, _, stop := listening(t, "--market-only", "--trusted-proxy", "127.0.0.1")
		assert.Equal(t, 200, post(t, url, sent, "X-Forwarded-For", "5.45.207.10"))
		assert.Equal(t, 403, post(t, url, sent, "X-Forwarded-For", "203.0.113.9"))
		assert.Equal(t, 0, stop())
		assert.Equal(t, 1, strings.Count(stdout.String(), "\n"))
	})
}

func TestListenUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		message string
	}{
		{[]string{"--allow-ip", "10.0.0.0/33"}, `invalid --allow-ip "10.0.0.0/33"`},
		{[]string{"--trusted-proxy", "market"}, `invalid --trusted-proxy "market"`},
		{[]string{"--tls-cert", "x.pem"}, "missing [tls-key]"},
		{[]string{"--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"}, "--tls-cert/--tls-key: open /nonexistent.pem"},
		{[]string{"--addr", "nope"}, "--addr nope:"},
	} {
		res := runCLI(t, nil, false, append([]string{"listen"}, tc.args...)...)
		assert.Equal(t, 2, res.code, tc.args)
		assert.Contains(t, res.stderr, tc.message)
		assert.Empty(t, res.stdout)
	}
}
