package chatclient

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/api"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestTransientFailuresAreRetriedWithBackoffAndBodyReplay(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := newScripted(t, errorReply(status, "INTERNAL", "try later"), errorReply(status, "INTERNAL", "try later"),
				jsonReply(200, `{"status":"OK","result":{"chatId":31}}`))
			var hooks []RetryInfo
			c, clock := newTestClient(t, srv.srv.URL, WithRetryHook(func(i RetryInfo) { hooks = append(hooks, i) }))
			id, err := c.CreateChat(context.Background(), 8, Order(55))
			require.NoError(t, err)
			assert.Equal(t, int64(31), id)

			got := srv.requests()
			require.Len(t, got, 3)
			for _, r := range got {
				assert.JSONEq(t, `{"context":{"type":"ORDER","id":55}}`, r.body, "the body is replayed on every attempt")
				assert.Equal(t, testToken, r.header.Get("Api-Key"))
			}
			assert.Equal(t, []time.Duration{ms(250), ms(500)}, clock.Sleeps(), "full-jitter waits never exceed the caps 250ms, 500ms")
			require.Len(t, hooks, 2)
			assert.Equal(t, RetryInfo{Operation: "createChat", BusinessID: 8, Attempt: 2, Wait: ms(250), Reason: WaitServerError, StatusCode: status, Err: hooks[0].Err}, hooks[0])
			assert.ErrorIs(t, hooks[0].Err, ErrServerError)
			assert.Equal(t, 3, hooks[1].Attempt)
		})
	}
}

func TestJitterIsDrawnBelowTheCap(t *testing.T) {
	srv := newScripted(t, errorReply(503, "X", "y"))
	c, clock := newTestClient(t, srv.srv.URL)
	var caps []int64
	c.jitter = func(n int64) int64 { caps = append(caps, n); return n / 2 }
	_, err := c.GetChat(context.Background(), 1, 1)
	require.Error(t, err)
	assert.Equal(t, []int64{int64(ms(250)) + 1, int64(ms(500)) + 1, int64(ms(1000)) + 1, int64(ms(2000)) + 1}, caps, "uniform in [0, cap]")
	assert.Equal(t, []time.Duration{ms(250) / 2, ms(500) / 2, ms(1000) / 2, ms(2000) / 2}, clock.Sleeps())
}

func TestRetriesRunOutWithTheLastError(t *testing.T) {
	srv := newScripted(t, errorReply(500, "INTERNAL_ERROR", "boom"))
	c, clock := newTestClient(t, srv.srv.URL)
	_, err := c.GetChat(context.Background(), 1, 2)
	requireNoToken(t, err)
	var re *RetryError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 5, re.Attempts)
	assert.Nil(t, re.Cause)
	var ae *APIError
	require.ErrorAs(t, err, &ae, "the last answer is reachable")
	assert.Equal(t, 500, ae.StatusCode)
	assert.ErrorIs(t, err, ErrServerError)
	assert.Equal(t, "chatclient: getChat: gave up after 5 attempts: HTTP 500 Internal Server Error: INTERNAL_ERROR: boom", err.Error())
	assert.Len(t, srv.requests(), 5)
	assert.Equal(t, []time.Duration{ms(250), ms(500), ms(1000), ms(2000)}, clock.Sleeps())
}

func TestClientErrorsAreNeverRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409} {
		srv := newScripted(t, errorReply(status, "NO", "no"), chatReply(1))
		c, clock := newTestClient(t, srv.srv.URL)
		_, err := c.GetChat(context.Background(), 1, 2)
		require.Error(t, err)
		assert.Len(t, srv.requests(), 1, "status %d", status)
		assert.Empty(t, clock.Sleeps())
	}
}

func TestNetworkErrorsAreRetried(t *testing.T) {
	srv := newScripted(t, reply{hangup: true}, reply{hangup: true}, chatReply(3))
	c, clock := newTestClient(t, srv.srv.URL)
	ch, err := c.GetChat(context.Background(), 1, 3)
	require.NoError(t, err)
	assert.Equal(t, int64(3), ch.ID)
	assert.Len(t, srv.requests(), 3)
	assert.Equal(t, []time.Duration{ms(250), ms(500)}, clock.Sleeps())

	down := newScripted(t, reply{hangup: true})
	c, _ = newTestClient(t, down.srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 2, Backoff: DefaultRetryPolicy().Backoff, ParallelBackoff: DefaultRetryPolicy().ParallelBackoff}))
	_, err = c.GetChat(context.Background(), 1, 3)
	requireNoToken(t, err)
	var re *RetryError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 2, re.Attempts)
	assert.Contains(t, err.Error(), "EOF")
}

const parallelBody = `{"status":"ERROR","errors":[{"code":"HIT_RATE_LIMIT","message":"Hit rate limit of 4 parallel requests"}]}`

func TestParallelLimit420IsRetriedAfterShortBackoff(t *testing.T) {
	hdr := map[string]string{headerLimit: "10000", headerRemaining: "9000"}
	srv := newScripted(t, reply{status: 420, body: parallelBody, header: hdr}, reply{status: 420, body: parallelBody, header: hdr},
		jsonReply(200, `{"status":"OK","result":{"chats":[]}}`))
	var reasons []WaitReason
	c, clock := newTestClient(t, srv.srv.URL, WithRetryHook(func(i RetryInfo) { reasons = append(reasons, i.Reason) }))
	_, err := c.ListChats(context.Background(), 1, Filter{}, PageRequest{})
	require.NoError(t, err)
	assert.Len(t, srv.requests(), 3)
	assert.Equal(t, []time.Duration{ms(100), ms(200)}, clock.Sleeps())
	assert.Equal(t, []WaitReason{WaitParallelLimit, WaitParallelLimit}, reasons)
}

func TestQuota420UntilHandling(t *testing.T) {
	ok := jsonReply(200, `{"status":"OK","result":{"chats":[]}}`)
	quota := func(until string) reply {
		h := map[string]string{headerLimit: "10000", headerRemaining: "0"}
		if until != "" {
			h[headerUntil] = until
		}
		return reply{status: 420, header: h, body: `{"status":"ERROR","errors":[{"code":"LIMIT_EXCEEDED","message":"quota"}]}`}
	}
	clockNow := newFakeClock().Now() // the test clients' clocks start at this whole second (or a second later)
	rfc := func(d time.Duration) string { return clockNow.Add(d).UTC().Format(http.TimeFormat) }

	t.Run("near: waited out, then retried", func(t *testing.T) {
		srv := newScripted(t, ok)
		c, clock := newTestClient(t, srv.srv.URL)
		srv.replies = []reply{quota(clock.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)), ok}
		var info []RetryInfo
		c.hook = func(i RetryInfo) { info = append(info, i) }
		_, err := c.ListChats(context.Background(), 1, Filter{}, PageRequest{})
		require.NoError(t, err)
		assert.Len(t, srv.requests(), 2)
		assert.Equal(t, []time.Duration{20 * time.Second}, clock.Sleeps(), "waits exactly until the reset")
		require.Len(t, info, 1)
		assert.Equal(t, WaitQuotaReset, info[0].Reason)
	})
	t.Run("far: RateLimitError at once", func(t *testing.T) {
		srv := newScripted(t, quota(rfc(2*time.Hour)), ok)
		c, clock := newTestClient(t, srv.srv.URL)
		_, err := c.ListChats(context.Background(), 1, Filter{}, PageRequest{})
		requireNoToken(t, err)
		var rle *RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Equal(t, OpGetChats, rle.Operation)
		assert.Equal(t, int64(10000), rle.Limit)
		assert.Equal(t, int64(0), rle.Remaining)
		assert.Equal(t, clockNow.Add(2*time.Hour).UTC(), rle.Until)
		require.NotNil(t, rle.Err)
		assert.Equal(t, 420, rle.Err.StatusCode)
		assert.ErrorIs(t, err, ErrRateLimited)
		assert.Contains(t, err.Error(), "quota of 10000 requests spent until "+rle.Until.Format(time.RFC3339))
		assert.Len(t, srv.requests(), 1)
		assert.Empty(t, clock.Sleeps())
	})
	t.Run("beyond the context deadline: RateLimitError at once", func(t *testing.T) {
		srv := newScripted(t, quota(rfc(30*time.Second)), ok)
		c, clock := newTestClient(t, srv.srv.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.ListChats(ctx, 1, Filter{}, PageRequest{})
		var rle *RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Empty(t, clock.Sleeps())
	})
	t.Run("max wait 0 never waits", func(t *testing.T) {
		srv := newScripted(t, quota(rfc(3*time.Second)), ok)
		c, clock := newTestClient(t, srv.srv.URL, WithMaxWait(0))
		_, err := c.ListChats(context.Background(), 1, Filter{}, PageRequest{})
		var rle *RateLimitError
		require.ErrorAs(t, err, &rle)
		assert.Empty(t, clock.Sleeps())
	})
	for name, until := range map[string]string{
		"past":    rfc(-time.Hour),
		"missing": "",
		"garbage": "tomorrow-ish",
	} {
		t.Run(name+": falls back to backoff", func(t *testing.T) {
			srv := newScripted(t, quota(until), ok)
			c, clock := newTestClient(t, srv.srv.URL)
			_, err := c.ListChats(context.Background(), 1, Filter{}, PageRequest{})
			require.NoError(t, err)
			assert.Len(t, srv.requests(), 2)
			assert.Equal(t, []time.Duration{ms(100)}, clock.Sleeps())
		})
	}
}

func TestSpentQuotaIsPacedWithoutRequests(t *testing.T) {
	srv := newScripted(t)
	var until time.Time
	srv.replies = []reply{{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(headerLimit, "1000")
		w.Header().Set(headerRemaining, "0")
		w.Header().Set(headerUntil, until.Format(http.TimeFormat))
		_, _ = w.Write([]byte(`{"status":"OK","result":` + chat(1, 2) + `}`))
	}}}
	var info []RetryInfo
	c, clock := newTestClient(t, srv.srv.URL, WithRetryHook(func(i RetryInfo) { info = append(info, i) }))
	until = clock.Now().Add(40 * time.Second).UTC()

	_, err := c.GetChat(context.Background(), 1, 1)
	require.NoError(t, err, "the answer that spends the quota is a success")

	// Within the budget: the next call waits for the reset, then sends.
	_, err = c.GetChat(context.Background(), 1, 1)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{40 * time.Second}, clock.Sleeps())
	require.Len(t, info, 1)
	assert.Equal(t, WaitQuotaPacing, info[0].Reason)
	assert.Len(t, srv.requests(), 2)

	// Beyond the budget: fail fast with no request.
	until = clock.Now().Add(2 * time.Hour).UTC()
	_, err = c.GetChat(context.Background(), 1, 1) // spends the new window
	require.NoError(t, err)
	_, err = c.GetChat(context.Background(), 1, 1)
	var rle *RateLimitError
	require.ErrorAs(t, err, &rle)
	assert.Nil(t, rle.Err, "no request was sent")
	assert.Equal(t, until, rle.Until)
	assert.Equal(t, int64(1000), rle.Limit)
	assert.Contains(t, err.Error(), "no request sent")
	assert.Len(t, srv.requests(), 3)

	// Another operation or business has a quota of its own.
	srv.replies = []reply{jsonReply(200, `{"status":"OK","result":{"chats":[]}}`)}
	_, err = c.ListChats(context.Background(), 1, Filter{}, PageRequest{})
	require.NoError(t, err)
	srv.replies = []reply{chatReply(1)}
	_, err = c.GetChat(context.Background(), 2, 1)
	require.NoError(t, err)
}

func TestContextCancelledDuringWaitReturnsPromptly(t *testing.T) {
	// The system clock here: the wait is real, and cancellation must end it.
	srv := newScripted(t, errorReply(503, "X", "y"))
	c, err := New(APIKey(testToken), WithBaseURL(srv.srv.URL),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, Backoff: Backoff{Initial: time.Hour, Max: time.Hour, Multiplier: 1}, ParallelBackoff: DefaultRetryPolicy().ParallelBackoff}))
	require.NoError(t, err)
	c.jitter = func(n int64) int64 { return n - 1 }
	ctx, cancel := context.WithCancel(context.Background())
	c.hook = func(RetryInfo) { go cancel() }
	start := time.Now()
	_, err = c.GetChat(ctx, 1, 1)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.ErrorIs(t, err, context.Canceled)
	var re *RetryError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, ErrServerError)
}

func TestNoSleepPastTheDeadline(t *testing.T) {
	srv := newScripted(t, errorReply(500, "X", "y"))
	c, clock := newTestClient(t, srv.srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 5,
		Backoff: Backoff{Initial: 10 * time.Second, Max: time.Minute, Multiplier: 2}, ParallelBackoff: DefaultRetryPolicy().ParallelBackoff}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := c.GetChat(ctx, 1, 1)
	var re *RetryError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrServerError)
	assert.Contains(t, err.Error(), "deadline")
	assert.Empty(t, clock.Sleeps())
	assert.Len(t, srv.requests(), 1)
}

func TestInFlightLimitUnder50Goroutines(t *testing.T) {
	var cur, peak atomic.Int32
	perBusiness := sync.Map{}
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		v, _ := perBusiness.LoadOrStore(r.URL.Path, new(atomic.Int32))
		in := v.(*atomic.Int32).Add(1)
		defer v.(*atomic.Int32).Add(-1)
		if in > 4 {
			w.WriteHeader(420)
			_, _ = w.Write([]byte(parallelBody))
			return
		}
		time.Sleep(2 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"OK","result":` + chat(1, 1) + `}`))
	}})
	var retries atomic.Int32
	c, _ := newTestClient(t, srv.srv.URL, WithRetryHook(func(RetryInfo) { retries.Add(1) }))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		wg.Add(2)
		go func() { defer wg.Done(); _, err := c.GetChat(context.Background(), 7, int64(i+1)); errs <- err }()
		go func() { defer wg.Done(); _, err := c.GetChat(context.Background(), 8, int64(i+1)); errs <- err }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(0), retries.Load(), "the client never exceeds 4 in flight per business")
	assert.LessOrEqual(t, peak.Load(), int32(8), "4 per business, two businesses")
	assert.Len(t, srv.requests(), 100)
}

func TestChatsIteratesAllPages(t *testing.T) {
	page := func(token string, ids ...int64) reply {
		var parts []string
		for _, id := range ids {
			parts = append(parts, chat(id, id))
		}
		paging := ""
		if token != "" {
			paging = `,"paging":{"nextPageToken":"` + token + `"}`
		}
		return jsonReply(200, `{"status":"OK","result":{"chats":[`+strings.Join(parts, ",")+`]`+paging+`}}`)
	}
	t.Run("all pages, then stop", func(t *testing.T) {
		srv := newScripted(t, page("p2", 1, 2), page("p3", 3), page("", 4, 5))
		c, _ := newTestClient(t, srv.srv.URL)
		var ids []int64
		for ch, err := range c.Chats(context.Background(), 9, Filter{Statuses: []api.ChatStatus{api.ChatStatusWaitingForPartner}}) {
			require.NoError(t, err)
			ids = append(ids, ch.ID)
		}
		assert.Equal(t, []int64{1, 2, 3, 4, 5}, ids)
		got := srv.requests()
		require.Len(t, got, 3)
		assert.Equal(t, "limit=20", got[0].query)
		assert.Equal(t, "limit=20&page_token=p2", got[1].query)
		assert.Equal(t, "limit=20&page_token=p3", got[2].query)
		for _, r := range got {
			assert.JSONEq(t, `{"statuses":["WAITING_FOR_PARTNER"]}`, r.body)
		}
	})
	t.Run("a repeated token is an error, not a loop", func(t *testing.T) {
		srv := newScripted(t, page("same", 1), page("same", 2), page("same", 3))
		c, _ := newTestClient(t, srv.srv.URL)
		var ids []int64
		var errs []error
		for ch, err := range c.Chats(context.Background(), 9, Filter{}) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ids = append(ids, ch.ID)
		}
		assert.Equal(t, []int64{1, 2}, ids)
		require.Len(t, errs, 1, "the error is yielded once")
		assert.ErrorIs(t, errs[0], ErrRepeatedPageToken)
		assert.Len(t, srv.requests(), 2)
	})
	t.Run("a longer cycle of tokens is caught too", func(t *testing.T) {
		// The server cycles a→b→c→a→… forever.
		srv := newScripted(t)
		var n atomic.Int32
		srv.replies = []reply{{handler: func(w http.ResponseWriter, r *http.Request) {
			i := n.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"OK","result":{"chats":[` + chat(int64(i), 1) + `],"paging":{"nextPageToken":"` + string(rune('a'+(i-1)%3)) + `"}}}`))
		}}}
		c, _ := newTestClient(t, srv.srv.URL)
		var errs []error
		for _, err := range c.Chats(context.Background(), 9, Filter{}) {
			if err != nil {
				errs = append(errs, err)
			}
		}
		require.Len(t, errs, 1)
		assert.ErrorIs(t, errs[0], ErrRepeatedPageToken)
		assert.LessOrEqual(t, len(srv.requests()), 3*3, "caught within a few rounds of the cycle")
	})
	t.Run("breaking out sends nothing more", func(t *testing.T) {
		srv := newScripted(t, page("p2", 1, 2, 3), page("", 4))
		c, _ := newTestClient(t, srv.srv.URL)
		for ch, err := range c.Chats(context.Background(), 9, Filter{}) {
			require.NoError(t, err)
			if ch.ID == 2 {
				break
			}
		}
		assert.Len(t, srv.requests(), 1)
	})
	t.Run("an error is yielded once and ends iteration", func(t *testing.T) {
		srv := newScripted(t, page("p2", 1), errorReply(403, "FORBIDDEN", "no access"))
		c, _ := newTestClient(t, srv.srv.URL)
		var n, nerr int
		for _, err := range c.Chats(context.Background(), 9, Filter{}) {
			if err != nil {
				nerr++
				assert.ErrorIs(t, err, ErrForbidden)
				continue
			}
			n++
		}
		assert.Equal(t, 1, n)
		assert.Equal(t, 1, nerr)
	})
}

func TestOneDebugRecordPerAttempt(t *testing.T) {
	srv := newScripted(t, errorReply(503, "X", "y"), chatReply(1))
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := newTestClient(t, srv.srv.URL, WithLogger(logger))
	_, err := c.GetChat(context.Background(), 4, 1)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"level":"DEBUG"`)
	assert.Contains(t, lines[0], `"operation":"getChat"`)
	assert.Contains(t, lines[0], `"attempt":1`)
	assert.Contains(t, lines[0], `"status":503`)
	assert.Contains(t, lines[0], `"wait":250000000`)
	assert.Contains(t, lines[1], `"attempt":2`)
	assert.Contains(t, lines[1], `"status":200`)
	assert.NotContains(t, buf.String(), testToken)

	// At info level nothing is logged.
	var quiet syncBuffer
	c, _ = newTestClient(t, srv.srv.URL, WithLogger(slog.New(slog.NewTextHandler(&quiet, nil))))
	_, err = c.GetChat(context.Background(), 4, 1)
	require.NoError(t, err)
	assert.Empty(t, quiet.String())
}

// gateClock is a fake clock whose sleeps last until the test lets them end.
type gateClock struct {
	fakeClock
	asleep chan time.Duration
	wake   chan struct{}
}

func (g *gateClock) Sleep(ctx context.Context, d time.Duration) error {
	g.asleep <- d
	select {
	case <-g.wake:
		return g.fakeClock.Sleep(ctx, d)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestParallelLimitBackoffKeepsTheSlot(t *testing.T) {
	srv := newScripted(t, reply{status: 420, body: parallelBody}, chatReply(1), chatReply(2))
	clock := &gateClock{fakeClock: *newFakeClock(), asleep: make(chan time.Duration), wake: make(chan struct{})}
	c, _ := newTestClient(t, srv.srv.URL, WithMaxInFlight(1), WithClock(clock))

	first := make(chan error)
	go func() { _, err := c.GetChat(context.Background(), 1, 1); first <- err }()
	<-clock.asleep // the first call got the 420 and is backing off

	second := make(chan error)
	go func() { _, err := c.GetChat(context.Background(), 1, 2); second <- err }()
	assert.Never(t, func() bool { return len(srv.requests()) > 1 }, 100*time.Millisecond, 5*time.Millisecond,
		"while the refused request backs off, its slot is not given to another")

	close(clock.wake)
	require.NoError(t, <-first)
	require.NoError(t, <-second)
	got := srv.requests()
	require.Len(t, got, 3)
	assert.Equal(t, "chatId=1", got[0].query)
	assert.ElementsMatch(t, []string{"chatId=1", "chatId=2"}, []string{got[1].query, got[2].query}, "after the wait, both go")
}

func TestServerErrorBackoffFreesTheSlot(t *testing.T) {
	srv := newScripted(t, errorReply(503, "X", "y"), chatReply(2), chatReply(1))
	clock := &gateClock{fakeClock: *newFakeClock(), asleep: make(chan time.Duration), wake: make(chan struct{})}
	c, _ := newTestClient(t, srv.srv.URL, WithMaxInFlight(1), WithClock(clock))

	first := make(chan error)
	go func() { _, err := c.GetChat(context.Background(), 1, 1); first <- err }()
	<-clock.asleep
	_, err := c.GetChat(context.Background(), 1, 2)
	require.NoError(t, err, "a request backing off from a 5xx does not hold its slot")
	close(clock.wake)
	require.NoError(t, <-first)
}

func TestQuotaHeldByRequestsInFlightIsWaitedForNotSleptOn(t *testing.T) {
	// Answers are released by the test, one chat id at a time.
	gates := map[string]chan string{"2": make(chan string), "3": make(chan string)}
	var until time.Time
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("chatId")
		remaining, window := "2", until
		if g, ok := gates[id]; ok {
			remaining = <-g
			if remaining == "new-window" {
				remaining, window = "199", until.Add(time.Minute)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(headerLimit, "200")
		w.Header().Set(headerRemaining, remaining)
		w.Header().Set(headerUntil, window.Format(http.TimeFormat))
		_, _ = w.Write([]byte(`{"status":"OK","result":` + chat(1, 1) + `}`))
	}})
	c, clock := newTestClient(t, srv.srv.URL)
	until = clock.Now().Add(40 * time.Second).UTC()

	_, err := c.GetChat(context.Background(), 1, 1) // the quota: 2 left until `until`
	require.NoError(t, err)
	done := make(chan error, 3)
	go func() { _, err := c.GetChat(context.Background(), 1, 2); done <- err }()
	go func() { _, err := c.GetChat(context.Background(), 1, 3); done <- err }()
	require.Eventually(t, func() bool { return len(srv.requests()) == 3 }, 5*time.Second, time.Millisecond)
	// Both places are held by requests in flight: a fourth call must wait, but for
	// their answers, not for the reset 40s away.
	go func() { _, err := c.GetChat(context.Background(), 1, 4); done <- err }()
	assert.Never(t, func() bool { return len(srv.requests()) > 3 }, 50*time.Millisecond, 5*time.Millisecond)
	gates["2"] <- "1" // one answer: 1 left, still held by the other request in flight
	require.NoError(t, <-done)
	assert.Never(t, func() bool { return len(srv.requests()) > 3 }, 50*time.Millisecond, 5*time.Millisecond)
	gates["3"] <- "new-window" // the Market counted it in a fresh window
	require.NoError(t, <-done)
	require.NoError(t, <-done)
	assert.Len(t, srv.requests(), 4)
	assert.Empty(t, clock.Sleeps(), "no sleep until the reset")
}

func TestPartialRetryPolicyTakesTheDefaults(t *testing.T) {
	srv := newScripted(t, errorReply(503, "X", "y"))
	c, clock := newTestClient(t, srv.srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 3}))
	_, err := c.GetChat(context.Background(), 1, 1)
	require.Error(t, err)
	assert.Len(t, srv.requests(), 3)
	assert.Equal(t, []time.Duration{ms(250), ms(500)}, clock.Sleeps(), "the default backoff")

	srv = newScripted(t, errorReply(404, "NOT_FOUND", "no"))
	c, _ = newTestClient(t, srv.srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	_, err = c.GetChat(context.Background(), 1, 1)
	assert.Equal(t, "chatclient: getChat: HTTP 404 Not Found: NOT_FOUND: no", err.Error(), "one prefix")

	srv = newScripted(t, errorReply(503, "X", "y"))
	c, _ = newTestClient(t, srv.srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	_, err = c.GetChat(context.Background(), 1, 1)
	assert.Equal(t, "chatclient: getChat: gave up after 1 attempt: HTTP 503 Service Unavailable: X: y", err.Error())
	assert.True(t, errors.Is(err, ErrServerError))
}
