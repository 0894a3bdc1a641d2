package chatclient_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
)

// fileServer serves body at every path and records the credentials it was sent.
type fileServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []string
}

func newFileServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *fileServer {
	t.Helper()
	f := &fileServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.keys = append(f.keys, r.Header.Get("Api-Key"))
		f.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fileServer) credentials() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

func TestDownloadAnAttachmentOfTheFakeMarket(t *testing.T) {
	srv := newFake(t)
	c := clientFor(t, srv)
	ctx := context.Background()
	require.NoError(t, c.SendFile(ctx, 100, 5000003, "receipt.pdf", strings.NewReader("%PDF-1.4 the receipt")))
	var att chatclient.Attachment
	for m, err := range c.Messages(ctx, 100, 5000003, 0) {
		require.NoError(t, err)
		for _, a := range m.Attachments {
			if a.Name == "receipt.pdf" {
				att = a
			}
		}
	}
	require.NotEmpty(t, att.URL)
	var buf bytes.Buffer
	n, err := c.Download(ctx, att, &buf)
	require.NoError(t, err)
	assert.Equal(t, att.Size, n)
	assert.Equal(t, "%PDF-1.4 the receipt", buf.String())
}

func TestDownloadNeverReadsMoreThanTheAttachmentDeclares(t *testing.T) {
	f := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20)) // chunked: no Content-Length
		w.(http.Flusher).Flush()
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20))
	})
	c, err := chatclient.New(chatclient.APIKey("tok-SECRET-1"))
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = c.Download(context.Background(), chatclient.Attachment{Name: "photo.jpg", URL: f.URL + "/photo.jpg", Size: 1000}, &buf)
	require.ErrorIs(t, err, chatclient.ErrDownloadRefused)
	assert.Contains(t, err.Error(), "longer than the 1000 bytes the attachment declares")
	assert.LessOrEqual(t, buf.Len(), 1001, "at most the declared size (and the byte that showed it was longer)")

	f2 := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5000")
		_, _ = w.Write(make([]byte, 5000))
	})
	buf.Reset()
	_, err = c.Download(context.Background(), chatclient.Attachment{URL: f2.URL + "/a", Size: 100}, &buf)
	require.ErrorIs(t, err, chatclient.ErrDownloadRefused, "a Content-Length over the declared size is refused before reading")
	assert.Zero(t, buf.Len())
}

func TestDownloadOfAShortBodyFails(t *testing.T) {
	f := newFileServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("half")) })
	c, err := chatclient.New(chatclient.APIKey("tok-SECRET-1"))
	require.NoError(t, err)
	_, err = c.Download(context.Background(), chatclient.Attachment{URL: f.URL + "/a", Size: 8}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ended after 4 of 8 bytes")
}

func TestDownloadSendsTheTokenOnlyToHostsTheUserNamed(t *testing.T) {
	const token = "tok-SECRET-dl"
	other := newFileServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("data")) })
	allowed := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			http.Redirect(w, r, other.URL+"/file", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("data"))
	})
	host := strings.TrimPrefix(allowed.URL, "http://")
	ctx := context.Background()

	c, err := chatclient.New(chatclient.APIKey(token))
	require.NoError(t, err)
	_, err = c.Download(ctx, chatclient.Attachment{URL: allowed.URL + "/file", Size: 4}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, []string{""}, allowed.credentials(), "no host named: no token")

	c, err = chatclient.New(chatclient.APIKey(token), chatclient.WithDownloadCredentials(host))
	require.NoError(t, err)
	_, err = c.Download(ctx, chatclient.Attachment{URL: allowed.URL + "/file", Size: 4}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, token, allowed.credentials()[1], "a named host gets it")

	_, err = c.Download(ctx, chatclient.Attachment{URL: allowed.URL + "/elsewhere", Size: 4}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, []string{""}, other.credentials(), "a redirect to another host goes without it")
}

func TestDownloadRefusals(t *testing.T) {
	loop := newFileServer(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.Path+"x", http.StatusFound) })
	c, err := chatclient.New(chatclient.APIKey("tok-SECRET-1"))
	require.NoError(t, err)
	ctx := context.Background()
	for name, url := range map[string]string{
		"plain http to another host": "http://attachments.example/photo.jpg?sig=SECRET",
		"a scheme that is not http":  "ftp://attachments.example/photo.jpg",
		"a redirect loop":            loop.URL + "/a",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Download(ctx, chatclient.Attachment{URL: url, Size: 4}, &bytes.Buffer{})
			var de *chatclient.DownloadError
			require.ErrorAs(t, err, &de)
			require.ErrorIs(t, err, chatclient.ErrDownloadRefused)
			assert.NotContains(t, err.Error(), "sig=SECRET", "the query may hold a signature")
		})
	}
	_, err = c.Download(ctx, chatclient.Attachment{URL: "not a url"}, &bytes.Buffer{})
	var ve *chatclient.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "attachment.url", ve.Field)
}
