package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

// attachmentFake is a fake Market whose chat 7000001 has message 9000001 with the
// attachments given (name, URL, declared size).
func attachmentFake(t *testing.T, files ...[3]string) (*chattest.Server, map[string]string) {
	t.Helper()
	var payload []string
	for _, f := range files {
		name, _ := json.Marshal(f[0])
		payload = append(payload, fmt.Sprintf(`{"name": %s, "url": %q, "size": %s}`, name, f[1], f[2]))
	}
	fixture := `{"businesses": [{"businessId": 100, "orders": [], "returns": [],
	  "chats": [{"chatId": 7000001, "type": "CHAT", "status": "WAITING_FOR_PARTNER",
	    "context": {"type": "DIRECT", "customer": {"name": "Eve"}},
	    "createdAt": "2026-11-20T10:00:00Z", "updatedAt": "2026-11-21T10:00:00Z"}],
	  "conversations": [{"chatId": 7000001, "messages": [{"messageId": 9000001,
	    "createdAt": "2026-11-21T10:00:00Z", "sender": "CUSTOMER", "payload": [` + strings.Join(payload, ",") + `]}]}]}]}`
	srv := chattest.NewServer(chattest.WithFixture([]byte(fixture)), chattest.WithToken(token),
		chattest.WithClock(func() time.Time { return fixedNow }))
	t.Cleanup(srv.Close)
	return srv, map[string]string{"YM_API_KEY": token, "YM_BUSINESS_ID": "100", "YM_BASE_URL": srv.URL}
}

func TestDownloadSavesTheFixturesAttachments(t *testing.T) {
	srv, vars := fake(t)
	dir := t.TempDir()
	res := runCLI(t, vars, false, "chat", "download", "5000003", "1000004", "--out", dir, "--base-url", srv.URL)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, filepath.Join(dir, "item-1.jpg")+"\n"+filepath.Join(dir, "item-2.jpg")+"\n", res.stdout)

	// Again: nothing is overwritten, the names get a suffix.
	res = runCLI(t, vars, false, "chat", "download", "5000003", "1000004", "--out", dir, "--base-url", srv.URL)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, filepath.Join(dir, "item-1-1.jpg")+"\n"+filepath.Join(dir, "item-2-1.jpg")+"\n", res.stdout)
	a, _ := os.ReadFile(filepath.Join(dir, "item-1.jpg"))
	b, _ := os.ReadFile(filepath.Join(dir, "item-1-1.jpg"))
	assert.NotEmpty(t, a)
	assert.Equal(t, a, b)
}

func TestDownloadKeepsANameInsideDir(t *testing.T) {
	body := "not really a key"
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }))
	t.Cleanup(files.Close)
	_, vars := attachmentFake(t,
		[3]string{"../../.ssh/id_rsa", files.URL + "/a", fmt.Sprint(len(body))},
		[3]string{"..", files.URL + "/b", fmt.Sprint(len(body))},
		[3]string{"evil\x1b[2Jname\n.txt", files.URL + "/c", fmt.Sprint(len(body))})
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	res := runCLI(t, vars, false, "chat", "download", "7000001", "9000001", "--out", dir)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, filepath.Join(dir, "id_rsa")+"\n"+filepath.Join(dir, "attachment-2")+"\n"+filepath.Join(dir, "evil[2Jname.txt")+"\n", res.stdout)
	_, err := os.Stat(filepath.Join(root, ".ssh"))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing outside --out")
	got, err := os.ReadFile(filepath.Join(dir, "id_rsa"))
	require.NoError(t, err)
	assert.Equal(t, body, string(got))
}

func TestDownloadRefusesAnOversizedBody(t *testing.T) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 1000))
	}))
	t.Cleanup(files.Close)
	_, vars := attachmentFake(t, [3]string{"small.txt", files.URL + "/small.txt", "10"})
	dir := t.TempDir()
	res := runCLI(t, vars, false, "chat", "download", "7000001", "9000001", "--out", dir)
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "attachment 1 (small.txt)")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "the part written is removed")
}

func TestDownloadRedirectToAnotherHostGetsNoToken(t *testing.T) {
	sawKey := make(chan string, 2)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawKey <- r.Header.Get("Api-Key") + r.Header.Get("Authorization")
		fmt.Fprint(w, "0123456789")
	}))
	t.Cleanup(other.Close)
	// The same loopback server under another name: another host for the client.
	u, _ := url.Parse(other.URL)
	otherURL := "http://localhost:" + u.Port() + "/file"
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawKey <- r.Header.Get("Api-Key")
		http.Redirect(w, r, otherURL, http.StatusFound)
	}))
	t.Cleanup(first.Close)
	_, vars := attachmentFake(t, [3]string{"doc.txt", first.URL + "/doc.txt", "10"})
	dir := t.TempDir()
	fu, _ := url.Parse(first.URL)
	res := runCLI(t, vars, false, "chat", "download", "7000001", "9000001", "--out", dir, "--allow-credentials-host", fu.Host)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, token, <-sawKey, "the host named gets the token")
	assert.Empty(t, <-sawKey, "the host redirected to does not")
	got, _ := os.ReadFile(filepath.Join(dir, "doc.txt"))
	assert.Equal(t, "0123456789", string(got))
}
