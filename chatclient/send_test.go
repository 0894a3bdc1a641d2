package chatclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/internal/faultnet"
)

// settlingClock is the fake clock the client shares with the fake Market, except that
// a wait first lets settle run: the test's event that every request still on its way
// (behind a gateway, in a proxy) has landed.
type settlingClock struct {
	*chattest.Clock
	settle func()
}

func (c settlingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.settle()
	return c.Clock.Sleep(ctx, d)
}

// sendEnv is a fake Market and a client that share a fake clock, so that waiting for a
// send to land takes no time.
func sendEnv(t *testing.T, opts ...chattest.Option) (*chattest.Server, *chatclient.Client, *chattest.Clock) {
	t.Helper()
	clock := chattest.NewClock(time.Now())
	srv := newFake(t, append([]chattest.Option{chattest.WithClock(clock.Now)}, opts...)...)
	return srv, clientFor(t, srv, fastRetries, chatclient.WithClock(clock)), clock
}

func countText(srv *chattest.Server, chat int64, text string) int {
	n := 0
	for _, m := range srv.Messages(100, chat) {
		if m.Message == text {
			n++
		}
	}
	return n
}

func countFiles(srv *chattest.Server, chat int64, name string) int {
	n := 0
	for _, m := range srv.Messages(100, chat) {
		for _, p := range m.Payload {
			if p.Name == name {
				n++
			}
		}
	}
	return n
}

func requestsOf(srv *chattest.Server, op string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Operation == op {
			n++
		}
	}
	return n
}

func maybeDelivered(t *testing.T, err error, checkErr error) *chatclient.MaybeDeliveredError {
	t.Helper()
	require.ErrorIs(t, err, chatclient.ErrMaybeDelivered)
	var md *chatclient.MaybeDeliveredError
	require.ErrorAs(t, err, &md)
	if checkErr != nil {
		assert.ErrorIs(t, md.CheckErr, checkErr)
	}
	return md
}

func TestSendDeliveredThenTheAnswerDroppedIsSuccess(t *testing.T) {
	srv, c, clock := sendEnv(t)
	srv.Script("sendMessageToChat", chattest.DropAfter())
	require.NoError(t, c.SendMessage(context.Background(), 100, 5000003, "once"))
	assert.Equal(t, 1, countText(srv, 5000003, "once"))
	assert.Equal(t, 1, requestsOf(srv, "sendMessageToChat"))
	assert.Contains(t, clock.Sleeps(), chatclient.DefaultLandingWindow, "the history was read once the send could no longer land")
}

func TestSendAfterA5xxIsMaybeDeliveredNeverSentAgain(t *testing.T) {
	srv, c, clock := sendEnv(t)
	ctx := context.Background()
	srv.Script("sendMessageToChat", chattest.StatusFault(503, "UNAVAILABLE", "try later"))
	start := c.MarketTime()
	err := c.SendMessage(ctx, 100, 5000003, "again")
	md := maybeDelivered(t, err, chatclient.ErrNotInHistory)
	assert.Equal(t, 0, countText(srv, 5000003, "again"))
	assert.Equal(t, 1, requestsOf(srv, "sendMessageToChat"), "a 5xx may have acted: never sent again blindly")
	assert.Equal(t, "again", md.Text)
	assert.Equal(t, int64(100), md.BusinessID)
	assert.Equal(t, int64(5000003), md.ChatID)
	assert.False(t, md.SentFrom.Before(start.Add(-time.Second)))
	assert.Equal(t, md.SentUntil.Add(chatclient.DefaultLandingWindow), md.SettleAfter)
	var api *chatclient.APIError
	require.ErrorAs(t, err, &api, "the send's own failure is kept")
	assert.Equal(t, 503, api.StatusCode)

	clock.Advance(time.Second)
	delivered, err := c.Delivered(ctx, md)
	require.NoError(t, err)
	assert.False(t, delivered, "settled later: not delivered, so sending again is safe")
	require.NoError(t, c.SendMessage(ctx, 100, 5000003, "again"))
	assert.Equal(t, 1, countText(srv, 5000003, "again"))
}

func TestSendWhenTheHistoryCannotBeReadIsMaybeDelivered(t *testing.T) {
	srv, c, _ := sendEnv(t)
	srv.Script("sendMessageToChat", chattest.DropAfter())
	for range 5 {
		srv.Script("getChatHistory", chattest.StatusFault(500, "E", "x"))
	}
	err := c.SendMessage(context.Background(), 100, 5000003, "maybe")
	md := maybeDelivered(t, err, chatclient.ErrServerError)
	assert.Equal(t, 1, countText(srv, 5000003, "maybe"), "delivered once, and never again")

	delivered, err := c.Delivered(context.Background(), md)
	require.NoError(t, err)
	assert.True(t, delivered, "once the history can be read, it settles")
}

func TestSendWhenTheHistoryAnswersAnErrorEnvelopeIsNotSentAgain(t *testing.T) {
	for name, body := range map[string]string{
		"status ERROR": `{"status":"ERROR","errors":[{"code":"INTERNAL","message":"try later"}]}`,
		"null result":  `{"status":"OK","result":null}`,
		"no result":    `{"status":"OK"}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv, c, _ := sendEnv(t)
			srv.Script("sendMessageToChat", chattest.Drop())
			srv.Script("getChatHistory", chattest.Fault{Status: 200, Body: body})
			err := c.SendMessage(context.Background(), 100, 5000003, "hello")
			md := maybeDelivered(t, err, nil)
			var re *chatclient.ResponseError
			require.ErrorAs(t, md.CheckErr, &re, "the history's answer was an error, not an empty history")
			assert.Equal(t, 0, countText(srv, 5000003, "hello"))
			assert.Equal(t, 1, requestsOf(srv, "sendMessageToChat"))
		})
	}
}

func TestSendTheSameWordsAgainWithinSecondsIsNeverTakenForDelivered(t *testing.T) {
	ctx := context.Background()
	t.Run("the second did not land", func(t *testing.T) {
		srv, c, _ := sendEnv(t)
		require.NoError(t, c.SendMessage(ctx, 100, 5000003, "Thanks!"))
		srv.Script("sendMessageToChat", chattest.Drop())
		err := c.SendMessage(ctx, 100, 5000003, "Thanks!")
		maybeDelivered(t, err, chatclient.ErrIndistinguishable)
		assert.Equal(t, 1, countText(srv, 5000003, "Thanks!"))
	})
	t.Run("the second landed", func(t *testing.T) {
		srv, c, _ := sendEnv(t)
		require.NoError(t, c.SendMessage(ctx, 100, 5000003, "Thanks!"))
		srv.Script("sendMessageToChat", chattest.DropAfter())
		err := c.SendMessage(ctx, 100, 5000003, "Thanks!")
		maybeDelivered(t, err, chatclient.ErrIndistinguishable)
		assert.Equal(t, 2, countText(srv, 5000003, "Thanks!"))
	})
	t.Run("a minute apart they are told apart", func(t *testing.T) {
		srv, c, clock := sendEnv(t)
		require.NoError(t, c.SendMessage(ctx, 100, 5000003, "Thanks!"))
		clock.Advance(time.Minute)
		srv.Script("sendMessageToChat", chattest.DropAfter())
		require.NoError(t, c.SendMessage(ctx, 100, 5000003, "Thanks!"))
		assert.Equal(t, 2, countText(srv, 5000003, "Thanks!"))
	})
}

func TestSendAFileTheMarketRenamesIsFoundInTheHistory(t *testing.T) {
	srv, c, _ := sendEnv(t, chattest.WithFileNames(func(name string) string {
		return strings.ReplaceAll(strings.ToLower(name), " ", "_")
	}))
	srv.Script("sendFileToChat", chattest.DropAfter())
	require.NoError(t, c.SendFile(context.Background(), 100, 5000003, "Receipt Final.PDF", strings.NewReader("%PDF-1.4 receipt")))
	assert.Equal(t, 1, countFiles(srv, 5000003, "receipt_final.pdf"))
	assert.Equal(t, 1, requestsOf(srv, "sendFileToChat"))
}

func TestSendRefusedWith420IsSentAgainWithoutReadingTheHistory(t *testing.T) {
	srv, c, _ := sendEnv(t)
	srv.Script("sendMessageToChat", chattest.ParallelLimit(), chattest.ParallelLimit())
	require.NoError(t, c.SendMessage(context.Background(), 100, 5000003, "after 420s"))
	assert.Equal(t, 1, countText(srv, 5000003, "after 420s"))
	assert.Equal(t, 0, requestsOf(srv, "getChatHistory"), "a refusal is certain: no need to look")
}

func TestSendWhoseBudgetEndsBeforeItCanLandIsSettledLater(t *testing.T) {
	srv, c, clock := sendEnv(t)
	c2 := clientFor(t, srv, fastRetries, chatclient.WithClock(clock), chatclient.WithMaxWait(time.Second))
	ctx := context.Background()
	srv.Script("sendMessageToChat", chattest.DropAfter())
	err := c2.SendMessage(ctx, 100, 5000003, "later")
	md := maybeDelivered(t, err, chatclient.ErrSettleLater)
	assert.Equal(t, 0, requestsOf(srv, "getChatHistory"), "too early to read: nothing read")

	_, err = c.Delivered(ctx, md)
	require.ErrorIs(t, err, chatclient.ErrSettleLater)
	assert.Equal(t, 0, requestsOf(srv, "getChatHistory"))
	clock.Advance(chatclient.DefaultLandingWindow)
	delivered, err := c.Delivered(ctx, md)
	require.NoError(t, err)
	assert.True(t, delivered)
}

func TestSendPastTheCallersDeadlineIsMaybeDeliveredNotAContextError(t *testing.T) {
	srv, c, _ := sendEnv(t)
	srv.Script("sendMessageToChat", chattest.Delay(time.Hour)) // ends when the client goes
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := c.SendMessage(ctx, 100, 5000003, "late")
	md := maybeDelivered(t, err, chatclient.ErrSettleLater)
	assert.ErrorIs(t, md, context.DeadlineExceeded, "the send's failure is the deadline")
}

func TestSendAfterAnHTTPClientTimeoutReadsTheHistory(t *testing.T) {
	clock := chattest.NewClock(time.Now())
	srv := newFake(t, chattest.WithClock(clock.Now))
	c := clientFor(t, srv, fastRetries, chatclient.WithClock(clock),
		chatclient.WithHTTPClient(&http.Client{Timeout: 200 * time.Millisecond}))
	srv.Script("sendMessageToChat", chattest.Delay(time.Hour)) // ends when the client goes
	err := c.SendMessage(context.Background(), 100, 5000003, "timed out")
	maybeDelivered(t, err, chatclient.ErrNotInHistory)
	assert.Equal(t, 1, requestsOf(srv, "getChatHistory"), "a timeout is an answer that did not come back")

	srv.Script("getChat", chattest.Delay(time.Hour))
	_, err = c.GetChat(context.Background(), 100, 5000003)
	require.NoError(t, err, "a read is retried after a timeout")
	assert.Equal(t, 2, requestsOf(srv, "getChat"))
}

func TestSendBehindAGatewayThatTimesOutLandsOnce(t *testing.T) {
	clock := chattest.NewClock(time.Now())
	srv := newFake(t, chattest.WithClock(clock.Now))
	gw := faultnet.NewGateway(srv.URL, func(r *http.Request) time.Duration {
		if strings.HasSuffix(r.URL.Path, "/chats/message") {
			return faultnet.GiveUpAtOnce
		}
		return time.Minute
	})
	front := httptest.NewServer(gw)
	t.Cleanup(front.Close)
	t.Cleanup(gw.Close)
	c := clientFor(t, srv, fastRetries, chatclient.WithBaseURL(front.URL),
		chatclient.WithClock(settlingClock{Clock: clock, settle: gw.Settle}))
	srv.Script("sendMessageToChat", chattest.Delay(50*time.Millisecond)) // the Market is slow, and acts

	require.NoError(t, c.SendMessage(context.Background(), 100, 5000003, "through the gateway"))
	assert.Equal(t, 1, gw.Timeouts(), "the gateway answered 504")
	assert.Equal(t, 1, countText(srv, 5000003, "through the gateway"), "one copy: the original landed late")
	assert.Equal(t, 1, requestsOf(srv, "sendMessageToChat"))
}

func TestAnAnswerCutInsideItsStatusLine(t *testing.T) {
	clock := chattest.NewClock(time.Now())
	srv := newFake(t, chattest.WithClock(clock.Now))
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	first := true
	proxy, err := faultnet.NewProxy(u.Host, func() faultnet.Fault {
		defer func() { first = false }()
		if first {
			return faultnet.Fault{CutAnswerAfter: len("HTTP/1.1 2")}
		}
		return faultnet.Fault{}
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })
	c := clientFor(t, srv, fastRetries, chatclient.WithBaseURL("http://"+proxy.Addr()),
		chatclient.WithClock(settlingClock{Clock: clock, settle: proxy.Settle}),
		chatclient.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))

	t.Run("a send the Market acted on is success", func(t *testing.T) {
		require.NoError(t, c.SendMessage(context.Background(), 100, 5000003, "cut"))
		assert.Equal(t, 1, countText(srv, 5000003, "cut"))
		assert.Equal(t, 1, requestsOf(srv, "sendMessageToChat"))
	})
	t.Run("a read is retried", func(t *testing.T) {
		first = true
		chat, err := c.GetChat(context.Background(), 100, 5000003)
		require.NoError(t, err)
		assert.Equal(t, int64(5000003), chat.ID)
	})
}

func TestSendFileWhoseStreamFailsMidwayIsNotSent(t *testing.T) {
	srv, c, _ := sendEnv(t)
	r := &failingReader{left: 1 << 20, err: io.ErrUnexpectedEOF} // a truncated download
	err := c.SendFile(context.Background(), 100, 5000003, "photo.jpg", r)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.NotErrorIs(t, err, chatclient.ErrMaybeDelivered)
	assert.Equal(t, 0, requestsOf(srv, "sendFileToChat"), "nothing partial was sent")
}

func TestSendFileWhoseSourceFailsDuringTheUploadIsNotSent(t *testing.T) {
	srv, c, _ := sendEnv(t)
	src := failingReaderAt{size: 2 << 20, failAt: 1 << 20}
	err := c.SendFile(context.Background(), 100, 5000003, "big.bin", io.NewSectionReader(src, 0, src.size))
	require.ErrorIs(t, err, errTruncated)
	assert.NotErrorIs(t, err, chatclient.ErrMaybeDelivered, "the Market never had the whole file")
	assert.Equal(t, 0, countFiles(srv, 5000003, "big.bin"))
	assert.Equal(t, 0, requestsOf(srv, "getChatHistory"))
}

func TestSendFileNamesThePartAsBrowsersDo(t *testing.T) {
	var disposition string
	srv, _, clock := sendEnv(t)
	seen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/file/send") {
			mr, err := r.MultipartReader()
			if err == nil {
				if p, err := mr.NextPart(); err == nil {
					disposition = p.Header.Get("Content-Disposition")
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	}))
	t.Cleanup(seen.Close)
	c := clientFor(t, srv, chatclient.WithBaseURL(seen.URL), chatclient.WithClock(clock))
	require.NoError(t, c.SendFile(context.Background(), 100, 5000003, `отчёт "Q3".pdf`, strings.NewReader("%PDF")))
	assert.Equal(t, `form-data; name="file"; filename="отчёт \"Q3\".pdf"`, disposition)

	c = clientFor(t, srv, chatclient.WithClock(clock))
	require.NoError(t, c.SendFile(context.Background(), 100, 5000003, `отчёт "Q3".pdf`, strings.NewReader("%PDF")))
	assert.Equal(t, 1, countFiles(srv, 5000003, `отчёт "Q3".pdf`), "the fake Market reads the name as sent")
}

var errTruncated = errors.New("gzip: truncated stream")

// failingReader gives left bytes, then fails with err.
type failingReader struct {
	left int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, r.err
	}
	n := min(len(p), r.left)
	clear(p[:n])
	r.left -= n
	return n, nil
}

// failingReaderAt is a file of size bytes whose reads past failAt fail.
type failingReaderAt struct{ size, failAt int64 }

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.failAt {
		return 0, errTruncated
	}
	clear(p)
	return len(p), nil
}
