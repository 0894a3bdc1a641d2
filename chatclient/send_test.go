package chatclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/internal/faultnet"
)

// settleFirst lets settle run before the client waits for a send to land: the test's
// event that every request still on its way (behind a gateway, in a proxy) has landed.
func settleFirst(settle func()) chatclient.Option {
	return chatclient.WithRetryHook(func(info chatclient.RetryInfo) {
		if info.Reason == chatclient.WaitLanding {
			settle()
		}
	})
}

// sendEnv is a fake Market and a client that share a fake clock, so that waiting for a
// send to land takes no time.
func sendEnv(t *testing.T, opts ...chattest.Option) (*chattest.Server, *chatclient.Client, *chattest.Clock) {
	t.Helper()
	clock := chattest.NewClock(time.Now())
	srv := newFake(t, append([]chattest.Option{chattest.WithClock(clock.Now)}, opts...)...)
	return srv, clientFor(t, srv, fastRetries, chatclient.WithClock(clock)), clock
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
		chatclient.WithClock(clock), settleFirst(gw.Settle))
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
	var cut atomic.Bool // cut the next connection's answer
	cut.Store(true)
	proxy, err := faultnet.NewProxy(u.Host, func() faultnet.Fault {
		if cut.Swap(false) {
			return faultnet.Fault{CutAnswerAfter: len("HTTP/1.1 2")}
		}
		return faultnet.Fault{}
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })
	c := clientFor(t, srv, fastRetries, chatclient.WithBaseURL("http://"+proxy.Addr()),
		chatclient.WithClock(clock), settleFirst(proxy.Settle),
		chatclient.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))

	t.Run("a send the Market acted on is success", func(t *testing.T) {
		require.NoError(t, c.SendMessage(context.Background(), 100, 5000003, "cut"))
		assert.Equal(t, 1, countText(srv, 5000003, "cut"))
		assert.Equal(t, 1, requestsOf(srv, "sendMessageToChat"))
	})
	t.Run("a read is retried", func(t *testing.T) {
		cut.Store(true)
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

// soakCounts classifies every send of a soak by what the fake Market holds.
type soakCounts struct {
	sends, ok, maybe, failed     int
	maybeLanded                  int // maybe-delivered sends that did land
	unsettled                    int // maybe-delivered sends Delivered could not settle (the history unreadable)
	duplicates, lostAcks, silent int // the promises broken: must stay 0
	wrongSettlements             int // Delivered said otherwise than the chat: must stay 0
	gatewayTimeouts              int
}

// soak sends n messages and files (one in four a file) from 8 goroutines through a
// fault proxy (latency, resets, requests and answers cut, black holes), a gateway that
// gives up on one request in seven while the Market goes on, and a fake Market that
// is itself slow, failing or dropping answers at random. All of it is drawn from seed.
func soak(tb testing.TB, seed uint64, n int) soakCounts {
	tb.Helper()
	// The real clock: a fake one that every goroutine's waits move forward would stamp a
	// message that landed late with a time far past its send's window.
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithRequestLog(100),
		chattest.WithFaultRate(0.1, seed, chattest.Delay(5*time.Millisecond), chattest.Delay(20*time.Millisecond),
			chattest.StatusFault(503, "UNAVAILABLE", "try later"), chattest.DropAfter(), chattest.Drop(), chattest.Truncated()))
	tb.Cleanup(srv.Close)
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(seed, seed+1))
	gw := faultnet.NewGateway(srv.URL, func(*http.Request) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		if rnd.IntN(7) == 0 {
			return faultnet.GiveUpAtOnce
		}
		return time.Minute
	})
	front := httptest.NewServer(gw)
	tb.Cleanup(gw.Close)
	tb.Cleanup(front.Close)
	proxy, err := faultnet.NewProxy(strings.TrimPrefix(front.URL, "http://"), func() faultnet.Fault {
		mu.Lock()
		defer mu.Unlock()
		switch p := rnd.IntN(100); {
		case p < 10:
			return faultnet.Fault{Latency: time.Duration(1+rnd.IntN(20)) * time.Millisecond}
		case p < 17:
			return faultnet.Fault{ResetBeforeRequest: true}
		case p < 25:
			return faultnet.Fault{CutAnswerAfter: 1 + rnd.IntN(200)}
		case p < 30:
			return faultnet.Fault{CutRequestAfter: 1 + rnd.IntN(300)}
		case p < 32:
			return faultnet.Fault{Blackhole: true}
		}
		return faultnet.Fault{}
	})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = proxy.Close() })
	c, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL("http://"+proxy.Addr()),
		chatclient.WithLandingWindow(100*time.Millisecond), fastRetries, settleFirst(func() { proxy.Settle(); gw.Settle() }),
		chatclient.WithHTTPClient(&http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}))
	require.NoError(tb, err)

	chats := []int64{5000001, 5000002, 5000003, 5000004}
	results := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				chat := chats[i%len(chats)]
				if i%4 == 3 {
					results[i] = c.SendFile(context.Background(), 100, chat, fmt.Sprintf("soak %d.txt", i), strings.NewReader(fmt.Sprintf("file %d", i)))
				} else {
					results[i] = c.SendMessage(context.Background(), 100, chat, fmt.Sprintf("soak message %d", i))
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	proxy.Settle()
	gw.Settle()

	var k soakCounts
	k.sends, k.gatewayTimeouts = n, gw.Timeouts()
	for i, err := range results {
		chat := chats[i%len(chats)]
		copies := countText(srv, chat, fmt.Sprintf("soak message %d", i))
		if i%4 == 3 {
			copies = countFiles(srv, chat, fmt.Sprintf("soak %d.txt", i))
		}
		switch {
		case err == nil:
			k.ok++
			if copies == 0 {
				k.lostAcks++
			}
		case errors.Is(err, chatclient.ErrMaybeDelivered):
			k.maybe++
			k.maybeLanded += copies
			// Settled later, through the same faults, the history must agree with the fake.
			var md *chatclient.MaybeDeliveredError
			require.ErrorAs(tb, err, &md)
			delivered, err := c.Delivered(context.Background(), md)
			switch {
			case err != nil:
				k.unsettled++
			case delivered != (copies == 1):
				k.wrongSettlements++
				tb.Logf("send %d settled as delivered=%v, the chat holds %d", i, delivered, copies)
			}
		default:
			k.failed++
			if copies > 0 {
				k.silent++
				tb.Logf("send %d failed though the Market holds it: %v", i, err)
			}
		}
		if copies > 1 {
			k.duplicates++
			tb.Logf("send %d is in the chat %d times: %v", i, copies, err)
		}
	}
	return k
}

// TestSendUnderRandomFaults: through real network faults, a send that returned nil is
// in the chat once, a maybe-delivered one at most once, a failed one not at all.
func TestSendUnderRandomFaults(t *testing.T) {
	k := soak(t, 18, 320)
	t.Logf("%d sends: %d nil, %d maybe delivered (%d of them landed, %d not settled later), %d failed; %d gateway timeouts",
		k.sends, k.ok, k.maybe, k.maybeLanded, k.unsettled, k.failed, k.gatewayTimeouts)
	assert.Zero(t, k.duplicates, "sent twice")
	assert.Zero(t, k.lostAcks, "reported sent, not in the chat")
	assert.Zero(t, k.silent, "reported failed, in the chat")
	assert.Zero(t, k.wrongSettlements, "Delivered disagreed with the chat")
	assert.Equal(t, k.sends, k.ok+k.maybe+k.failed)
	assert.Positive(t, k.gatewayTimeouts, "the gateway fault happened")
	assert.Positive(t, k.ok, "the faults leave room for success")
}

// BenchmarkSendUnderFaults reports the soak's counts for BENCHMARKS.md.
func BenchmarkSendUnderFaults(b *testing.B) {
	var k soakCounts
	for i := range b.N {
		k = soak(b, uint64(100+i), 320)
	}
	b.ReportMetric(float64(k.sends), "sends")
	b.ReportMetric(float64(k.ok), "nil")
	b.ReportMetric(float64(k.maybe), "maybe-delivered")
	b.ReportMetric(float64(k.maybeLanded), "maybe-landed")
	b.ReportMetric(float64(k.failed), "failed")
	b.ReportMetric(float64(k.duplicates), "duplicates")
	b.ReportMetric(float64(k.lostAcks), "lost-acks")
	b.ReportMetric(float64(k.silent), "silent-losses")
	b.ReportMetric(float64(k.wrongSettlements), "wrong-settlements")
	b.ReportMetric(float64(k.unsettled), "unsettled")
	b.ReportMetric(float64(k.gatewayTimeouts), "gateway-504s")
}

func TestSendAsTheFirstCallToAMarketWhoseClockIsHoursOff(t *testing.T) {
	srv := newFake(t, chattest.WithClock(func() time.Time { return time.Now().Add(-3 * time.Hour) }))
	c := clientFor(t, srv, fastRetries, chatclient.WithLandingWindow(time.Millisecond))
	srv.Script("sendMessageToChat", chattest.DropAfter())
	require.NoError(t, c.SendMessage(context.Background(), 100, 5000003, "first words"),
		"the send's window is on the Market's clock, learnt from the history's answers")
	assert.Equal(t, 1, countText(srv, 5000003, "first words"))
}
