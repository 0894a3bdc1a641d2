package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/notify"
)

// inboxLines parses inbox's stdout, one event a line.
func inboxLines(t *testing.T, stdout string) []inboxLine {
	t.Helper()
	var out []inboxLine
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if l == "" {
			continue
		}
		var v inboxLine
		require.NoError(t, json.Unmarshal([]byte(l), &v), l)
		out = append(out, v)
	}
	return out
}

func TestInboxOncePrintsTheFixtureAsJSONLines(t *testing.T) {
	srv, vars := fake(t)
	res := runCLI(t, vars, false, "inbox", "--once", "--base-url", srv.URL)
	require.Equal(t, 0, res.code, res.stderr)
	lines := inboxLines(t, res.stdout)
	require.NotEmpty(t, lines)

	created, messages := map[int64]bool{}, map[[2]int64]bool{}
	for _, l := range lines {
		assert.Equal(t, int64(100), l.BusinessID)
		switch l.Kind {
		case "ChatCreated":
			assert.False(t, created[l.ChatID], "chat %d created twice", l.ChatID)
			created[l.ChatID] = true
			require.NotNil(t, l.Chat)
			assert.Equal(t, l.ChatID, l.Chat.ID)
		case "NewMessage":
			assert.True(t, created[l.ChatID], "a chat's ChatCreated comes before its messages")
			require.NotNil(t, l.Message)
			key := [2]int64{l.ChatID, l.Message.ID}
			assert.False(t, messages[key], "message %v printed twice", key)
			messages[key] = true
		}
	}
	assert.True(t, created[5000003])
	assert.NotEmpty(t, messages)
	assert.Regexp(t, `"createdAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"`, res.stdout, "times are RFC 3339 UTC")
}

func TestInboxRestartPrintsNothingTwice(t *testing.T) {
	srv, vars := fake(t)
	state := filepath.Join(t.TempDir(), "inbox.db")
	first := runCLI(t, vars, false, "inbox", "--once", "--state", state, "--base-url", srv.URL)
	require.Equal(t, 0, first.code, first.stderr)
	require.NotEmpty(t, first.stdout)

	_, err := srv.CustomerWrites(100, 5000003, "Still there?")
	require.NoError(t, err)
	sticker, err := srv.CustomerSendsSticker(100, 5000002)
	require.NoError(t, err)

	second := runCLI(t, vars, false, "inbox", "--once", "--state", state, "--base-url", srv.URL)
	require.Equal(t, 0, second.code, second.stderr)
	for _, l := range strings.Split(strings.TrimSpace(second.stdout), "\n") {
		assert.NotContains(t, first.stdout, l, "printed again after the restart")
	}
	var texts []string
	var stickers []int64
	for _, l := range inboxLines(t, second.stdout) {
		if l.Kind != "NewMessage" {
			continue
		}
		if l.Message.Text != "" {
			texts = append(texts, l.Message.Text)
		} else {
			stickers = append(stickers, l.Message.ID)
		}
	}
	assert.Equal(t, []string{"Still there?"}, texts, "the message written between the runs")
	assert.Equal(t, []int64{sticker}, stickers, "the sticker, which no push announces")

	third := runCLI(t, vars, false, "inbox", "--once", "--state", state, "--base-url", srv.URL)
	require.Equal(t, 0, third.code, third.stderr)
	assert.Empty(t, third.stdout, "nothing new, nothing printed")
}

// caughtUpInbox prints the fake's events with --once, then starts a long-running
// inbox with args, whose first sweep (its place is in memory) prints them again. It
// returns how many lines that is, the inbox's output, and stop, which ends it as a
// signal would and returns its exit code.
func caughtUpInbox(t *testing.T, srv *chattest.Server, vars map[string]string, args ...string) (want int, stdout, stderr *syncBuf, stop func() int) {
	t.Helper()
	caughtUp := runCLI(t, vars, false, "inbox", "--once", "--base-url", srv.URL)
	require.Equal(t, 0, caughtUp.code, caughtUp.stderr)
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr = &syncBuf{}, &syncBuf{}
	done := make(chan int, 1)
	go func() {
		done <- runWriting(ctx, stdout, stderr, vars, append([]string{"inbox", "--base-url", srv.URL}, args...)...)
	}()
	stop = func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatal("inbox did not stop")
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	return strings.Count(caughtUp.stdout, "\n"), stdout, stderr, stop
}

func TestInboxListenPrintsAPush(t *testing.T) {
	srv, vars := fake(t)
	want, stdout, stderr, stop := caughtUpInbox(t, srv, vars, "--listen", "127.0.0.1:0")
	re := regexp.MustCompile(`listening on (http://\S+)`)
	require.Eventually(t, func() bool { return re.MatchString(stderr.String()) }, 10*time.Second, 5*time.Millisecond, "stderr: %s", stderr)
	require.NoError(t, srv.RegisterReceiver(re.FindStringSubmatch(stderr.String())[1]+"/notification"))
	// The first sweep prints what --once printed; the next one is a minute away, so
	// what comes after it within the bound came by push.
	require.Eventually(t, func() bool { return strings.Count(stdout.String(), "\n") >= want }, 10*time.Second, 5*time.Millisecond, "stdout: %s", stdout)

	_, err := srv.CustomerWrites(100, 5000003, "Pushed to you")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), `"text":"Pushed to you"`) }, 10*time.Second, 5*time.Millisecond, "stdout: %s", stdout)

	assert.Equal(t, 0, stop(), "a signal is a clean stop: %s", stderr)
	assert.Equal(t, want+1, strings.Count(stdout.String(), "\n"), "the pushed message, once: %s", stdout)
}

func TestInboxOnceStoppedExits130(t *testing.T) {
	srv, vars := fake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := runIn(t, ctx, "", vars, false, "inbox", "--once", "--base-url", srv.URL)
	assert.Equal(t, 130, res.code, "a pass cut short did not print everything: %s", res.stderr)
}

func TestInboxStoppedBySignalExits0(t *testing.T) {
	srv, vars := fake(t)
	state := filepath.Join(t.TempDir(), "inbox.db")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := runIn(t, ctx, "", vars, false, "inbox", "--state", state, "--base-url", srv.URL)
	assert.Equal(t, 0, res.code, "the place is kept: the next run prints the rest: %s", res.stderr)
	next := runCLI(t, vars, false, "inbox", "--once", "--state", state, "--base-url", srv.URL)
	require.Equal(t, 0, next.code, next.stderr)
	assert.Contains(t, next.stdout, `"chatId":5000003`, "the next run prints what the stopped one did not")
}

// refusingWriter fails every write that holds refuse, as a full disk or a closed
// pipe would for those lines.
type refusingWriter struct {
	syncBuf
	refuse string
}

func (w *refusingWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.refuse) {
		return 0, errors.New("no space left on device")
	}
	return w.syncBuf.Write(p)
}

func TestInboxOnceSaysWhichChatsItHeldBack(t *testing.T) {
	srv, vars := fake(t)
	state := filepath.Join(t.TempDir(), "inbox.db")
	stdout, stderr := &refusingWriter{refuse: `"chatId":5000003,`}, &syncBuf{}
	code := runWriting(context.Background(), stdout, stderr, vars, "inbox", "--once", "--state", state, "--base-url", srv.URL)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "1 of the chats could not be printed in full; the next run tries them again")
	assert.Contains(t, stderr.String(), "chat 5000003: ")
	assert.Contains(t, stderr.String(), "no space left on device")
	assert.NotContains(t, stdout.String(), `"chatId":5000003,`)
	assert.Contains(t, stdout.String(), `"chatId":5000004,`, "the other chats are printed")

	next := runCLI(t, vars, false, "inbox", "--once", "--state", state, "--base-url", srv.URL)
	require.Equal(t, 0, next.code, next.stderr)
	for _, l := range inboxLines(t, next.stdout) {
		assert.Equal(t, int64(5000003), l.ChatID, "the next run prints the held-back chat only")
	}
	assert.Contains(t, next.stdout, `"chatId":5000003,`)
}

func TestInboxUsageErrors(t *testing.T) {
	srv, vars := fake(t)
	state := filepath.Join(t.TempDir(), "inbox.db")
	res := runCLI(t, vars, false, "inbox", "--once", "--state", state, "--redis", "redis://127.0.0.1:1/0", "--base-url", srv.URL)
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "--state and --redis both name a store")
	res = runCLI(t, vars, false, "inbox", "--once", "--listen", "127.0.0.1:0", "--base-url", srv.URL)
	assert.Equal(t, 2, res.code)
	assert.Empty(t, res.stdout)
}

func TestInboxProgressLeavesTheTerminalClean(t *testing.T) {
	srv, vars := fake(t)
	res := runCLI(t, vars, true, "inbox", "--once", "--base-url", srv.URL)
	require.Equal(t, 0, res.code, res.stderr)
	inboxLines(t, res.stdout) // stdout holds JSON lines only, whatever the terminal showed
	if i := strings.LastIndex(res.stderr, "\r\033[K"); i >= 0 {
		assert.Empty(t, res.stderr[i+len("\r\033[K"):], "the progress line is cleared at the end")
	}
}

func TestInboxListenGuardsItsReceiver(t *testing.T) {
	ping := notify.Ping{Time: time.Date(2026, 11, 22, 12, 0, 0, 0, msk)}
	t.Run("a caller outside the allowed network is refused", func(t *testing.T) {
		srv, vars := fake(t)
		url, _, stderr, stop := serving(t, vars, "inbox", "--listen", "127.0.0.1:0", "--base-url", srv.URL, "--allow-ip", "10.0.0.0/8")
		assert.Equal(t, 403, post(t, url+"/notification", ping), "127.0.0.1 is not in 10.0.0.0/8")
		stop()
		assert.NotContains(t, stderr.String(), "accepting notifications from any address")
	})
	t.Run("an allowed caller is answered", func(t *testing.T) {
		srv, vars := fake(t)
		url, _, _, stop := serving(t, vars, "inbox", "--listen", "127.0.0.1:0", "--base-url", srv.URL, "--allow-ip", "10.0.0.0/8,127.0.0.1")
		assert.Equal(t, 200, post(t, url+"/notification", ping))
		stop()
	})
	t.Run("anyone, with a warning, when nothing is allowed", func(t *testing.T) {
		srv, vars := fake(t)
		url, _, stderr, stop := serving(t, vars, "inbox", "--listen", "127.0.0.1:0", "--base-url", srv.URL)
		assert.Equal(t, 200, post(t, url+"/notification", ping))
		stop()
		assert.Contains(t, stderr.String(), "accepting notifications from any address; see --allow-ip market")
	})
}

func TestInboxListenServesHTTPS(t *testing.T) {
	srv, vars := fake(t)
	cert, key := selfSigned(t)
	url, _, _, stop := serving(t, vars, "inbox", "--listen", "127.0.0.1:0", "--base-url", srv.URL, "--tls-cert", cert, "--tls-key", key)
	require.True(t, strings.HasPrefix(url, "https://"), url)

	pem, err := os.ReadFile(cert)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := client.Post(url+"/notification", "application/json", strings.NewReader(`{"notificationType":"PING","time":"2026-11-22T09:00:00Z"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	stop()
}

func TestInboxReceiverFlagsNeedListen(t *testing.T) {
	srv, vars := fake(t)
	cert, key := selfSigned(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", cert, "--tls-key", key}, "ymchat: --tls-cert needs --listen ADDR"},
		{[]string{"--once", "--tls-cert", cert, "--tls-key", key}, "ymchat: --tls-cert needs --listen ADDR"},
		{[]string{"--once", "--allow-ip", "market"}, "ymchat: --allow-ip needs --listen ADDR"},
		{[]string{"--market-only"}, "ymchat: --market-only needs --listen ADDR"},
		{[]string{"--trusted-proxy", "127.0.0.1"}, "ymchat: --trusted-proxy needs --listen ADDR"},
		{[]string{"--tls-cert", cert}, "missing [tls-key]"},
		{[]string{"--listen", "127.0.0.1:0", "--allow-ip", "10.0.0.0/33"}, `invalid --allow-ip "10.0.0.0/33"`},
	} {
		res := runCLI(t, vars, false, append([]string{"inbox", "--base-url", srv.URL}, tc.args...)...)
		assert.Equal(t, 2, res.code, tc.args)
		assert.Contains(t, res.stderr, tc.want, tc.args)
		assert.Empty(t, res.stdout, tc.args)
	}
	assert.Empty(t, srv.Requests(), "refused before anything was sent")
}

func TestInboxSweepsAsOftenAsTheFlagsAllow(t *testing.T) {
	// Quotas large enough that the share does not hold the sweeps back: with
	// --min-interval 0 the next sweep follows at once, and finds a message no push
	// announced (there is no --listen), where the default would wait a minute.
	srv, vars := fake(t, chattest.WithQuota("getChatHistory", chattest.Quota{Limit: 100_000_000, Window: time.Hour}),
		chattest.WithQuota("getChats", chattest.Quota{Limit: 100_000_000, Window: time.Hour}))
	want, stdout, stderr, stop := caughtUpInbox(t, srv, vars, "--min-interval", "0", "--share", "1")
	require.Eventually(t, func() bool { return strings.Count(stdout.String(), "\n") >= want }, 10*time.Second, 5*time.Millisecond, "stdout: %s", stdout)
	_, err := srv.CustomerWrites(100, 5000003, "Found by a sweep")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), `"text":"Found by a sweep"`) }, 10*time.Second, 5*time.Millisecond, "stdout: %s", stdout)

	assert.Equal(t, 0, stop(), stderr)
	assert.Equal(t, 1, strings.Count(stdout.String(), "Found by a sweep"), "printed once: %s", stdout)
}

func TestInboxPacingFlagsRefuseBadValues(t *testing.T) {
	srv, vars := fake(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--share", "0"}, `invalid --share "0": must be a number above 0 and at most 1`},
		{[]string{"--share", "1.5"}, `invalid --share "1.5": must be a number above 0 and at most 1`},
		{[]string{"--min-interval", "-1m"}, `invalid --min-interval "-1m": must not be negative`},
	} {
		res := runCLI(t, vars, false, append([]string{"inbox", "--once", "--base-url", srv.URL}, tc.args...)...)
		assert.Equal(t, 2, res.code, tc.args)
		assert.Contains(t, res.stderr, tc.want, tc.args)
		assert.Empty(t, res.stdout, tc.args)
	}
	assert.Empty(t, srv.Requests(), "refused before anything was sent")
}
