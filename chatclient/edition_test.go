package chatclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageServer serves getChats pages of two chats each: page n (from 0) holds chats 2n+1
// and 2n+2, and its token names page n+1; pages [from, from+fail) answer 500
// `fails` times each before they answer.
func pageReply(n, last int) reply {
	next := ""
	if n < last {
		next = fmt.Sprintf(`,"paging":{"nextPageToken":"p%d"}`, n+1)
	}
	return jsonReply(200, fmt.Sprintf(`{"status":"OK","result":{"chats":[%s,%s]%s}}`, chat(int64(2*n+1), 1), chat(int64(2*n+2), 2), next))
}

func TestChatListingResumesFromAStoredTokenAfterAFailure(t *testing.T) {
	var mu sync.Mutex
	failing := true
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		n := 0
		if tok := r.URL.Query().Get("page_token"); tok != "" {
			_, _ = fmt.Sscanf(tok, "p%d", &n)
		}
		mu.Lock()
		fail := failing && n == 2
		mu.Unlock()
		if fail {
			w.WriteHeader(404) // a failure retrying cannot change
			_, _ = w.Write([]byte(`{"status":"ERROR","errors":[{"code":"NOT_FOUND","message":"gone for now"}]}`))
			return
		}
		rep := pageReply(n, 3)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(rep.body))
	}})
	c, _ := newTestClient(t, srv.srv.URL)
	ctx := context.Background()

	var seenIDs []int64
	saved := ""
	for page, err := range c.ChatPages(ctx, 5, Filter{}, PageRequest{}) {
		if err != nil {
			assert.ErrorIs(t, err, ErrNotFound)
			break
		}
		for _, ch := range page.Chats {
			seenIDs = append(seenIDs, ch.ID)
		}
		saved = page.NextPageToken
	}
	assert.Equal(t, []int64{1, 2, 3, 4}, seenIDs, "two pages before the failure")
	assert.Equal(t, "p2", saved)

	mu.Lock()
	failing = false
	mu.Unlock()
	for page, err := range c.ChatPages(ctx, 5, Filter{}, PageRequest{Token: saved}) {
		require.NoError(t, err)
		for _, ch := range page.Chats {
			seenIDs = append(seenIDs, ch.ID)
		}
	}
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8}, seenIDs, "resumed where it stopped: nothing lost, nothing twice")
}

func TestListingStopsAfterMaxEmptyPagesInARow(t *testing.T) {
	var calls atomic.Int64
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"OK","result":{"chats":[],"paging":{"nextPageToken":"fresh-%d"}}}`, n)
	}})
	c, _ := newTestClient(t, srv.srv.URL)
	count := 0
	var last error
	for _, err := range c.Chats(context.Background(), 5, Filter{}) {
		if err != nil {
			last = err
			break
		}
		count++
	}
	var pe *PagingError
	require.ErrorAs(t, last, &pe)
	assert.ErrorIs(t, last, ErrNoProgress)
	assert.Equal(t, OpGetChats, pe.Operation)
	assert.Equal(t, MaxEmptyPages, pe.Pages)
	assert.Equal(t, int64(MaxEmptyPages), calls.Load(), "stopped without spending more of the quota")
	assert.Zero(t, count)
	assert.Contains(t, last.Error(), "chatclient: getChats: stopped after 10 pages")
}

func TestQuotaIsReadableAfterASuccess(t *testing.T) {
	srv := newScripted(t, reply{status: 200, body: `{"status":"OK","result":` + chat(7, 70) + `}`, header: map[string]string{
		"X-RateLimit-Resource-Limit": "1000", "X-RateLimit-Resource-Remaining": "993",
		"X-RateLimit-Resource-Until": "Thu, 10 Jul 2036 00:42:42 GMT", "Date": "Thu, 10 Jul 2036 00:12:42 GMT"}})
	c, clock := newTestClient(t, srv.srv.URL)
	ctx := context.Background()
	_, ok := c.Quota(ctx, 3, OpGetChat)
	assert.False(t, ok, "nothing known before the first answer")
	_, err := c.GetChat(ctx, 3, 7)
	require.NoError(t, err)
	q, ok := c.Quota(ctx, 3, OpGetChat)
	require.True(t, ok)
	assert.Equal(t, int64(1000), q.Limit)
	assert.Equal(t, int64(993), q.Remaining)
	assert.Equal(t, time.Date(2036, 7, 10, 0, 42, 42, 0, time.UTC), q.Until.UTC())
	assert.Equal(t, 30*time.Minute, q.ResetAt.Sub(clock.Now()), "the reset on the local clock: Until minus the answer's Date")
	_, ok = c.Quota(ctx, 3, OpGetChats)
	assert.False(t, ok, "per operation")
}

func TestIdleStateIsFreedAcross100000Businesses(t *testing.T) {
	// An in-process transport: this counts the client's state, not the network.
	var clock *fakeClock
	body := `{"status":"OK","result":` + chat(7, 70) + `}`
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Resource-Limit": {"1000"},
			"X-Ratelimit-Resource-Remaining": {"999"},
			// Every answer reports a window that ends a minute after the (fake) now.
			"X-Ratelimit-Resource-Until": {clock.Now().Add(time.Minute).UTC().Format(http.TimeFormat)}}
		return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
	})}
	c, clock := newTestClient(t, "https://api.example", WithHTTPClient(hc))
	leases := c.leases.(*localLeases)
	quotas := c.quotas.(*localQuotas)
	const businesses = 100_000
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := next.Add(1); b <= businesses; b = next.Add(1) {
				if _, err := c.GetChat(context.Background(), b, 7); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, leases.held(), "no in-flight state is kept for idle businesses")
	assert.Equal(t, businesses, quotas.held(), "a quota window is kept while it lasts (it is what Quota reads)")
	// Once the windows are over, the calls that follow sweep them: within as many calls
	// as there are windows (amortized O(1) a call).
	clock.advance(2 * time.Minute)
	calls := 0
	for quotas.held() > calls && calls < businesses {
		calls++
		_, err := c.GetChat(context.Background(), int64(calls), 7)
		require.NoError(t, err)
	}
	t.Logf("windows that ended were swept after %d calls", calls)
	assert.LessOrEqual(t, quotas.held(), calls, "only the windows of the calls made since are held")
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func TestDefaultHTTPClientReusesConnectionsUnderTheInFlightLimit(t *testing.T) {
	// connections counts the connections 50 bursts of 4 parallel requests open: after
	// each burst all 4 connections are idle, and Go's default transport keeps only 2.
	connections := func(opts ...Option) int64 {
		var conns atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Millisecond) // keep 4 in flight
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"OK","result":` + chat(7, 70) + `}`))
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Start()
		defer srv.Close()
		c, err := New(APIKey(testToken), append([]Option{WithBaseURL(srv.URL)}, opts...)...)
		require.NoError(t, err)
		for range 50 {
			var wg sync.WaitGroup
			for range DefaultMaxInFlight {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := c.GetChat(context.Background(), 9, 7)
					assert.NoError(t, err)
				}()
			}
			wg.Wait()
		}
		c.http.CloseIdleConnections()
		return conns.Load()
	}
	ours := connections() // the default HTTP client
	goDefault := connections(WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}))
	t.Logf("connections for 50 bursts of 4: %d with the client's default, %d with Go's (2 idle per host)", ours, goDefault)
	// Go's keeps 2 of 4 idle connections: about 2 new ones a burst. Ours keeps them all
	// (a finished connection returns to the pool a moment after its answer is read, so
	// now and then one more is dialled: the margin allows for that, not for churn).
	assert.Less(t, 4*ours, goDefault, "connections are reused, not churned")
}

func TestBaseURLWithAPathPrefix(t *testing.T) {
	srv := newScripted(t, chatReply(7))
	c, _ := newTestClient(t, srv.srv.URL+"/proxy/market")
	_, err := c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	got := srv.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/proxy/market/v2/businesses/3/chat", got[0].path)
	assert.Equal(t, "chatId=7", got[0].query)

	c, _ = newTestClient(t, srv.srv.URL+"/proxy/market/")
	_, err = c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	assert.Equal(t, "/proxy/market/v2/businesses/3/chat", srv.requests()[1].path, "a trailing slash is the same prefix")
}

func TestUserAgentNamesYmchat(t *testing.T) {
	srv := newScripted(t, chatReply(7))
	c, _ := newTestClient(t, srv.srv.URL)
	_, err := c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	ua := srv.requests()[0].header.Get("User-Agent")
	assert.True(t, strings.HasPrefix(ua, "ymchat/"), ua)
	assert.Contains(t, ua, moduleVersion())
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

// countingAdmitter is an Admitter over the local seams that counts its calls.
type countingAdmitter struct {
	Leases
	Quotas
	mu                         sync.Mutex
	admits, dones, kept, freed int
	busyFirst                  bool
}

func (a *countingAdmitter) Admit(ctx context.Context, key QuotaKey, now time.Time) (Admission, error) {
	a.mu.Lock()
	a.admits++
	busy := a.busyFirst
	a.busyFirst = false
	a.mu.Unlock()
	if busy {
		return Admission{Busy: true}, nil
	}
	release, err := a.Acquire(ctx, key.BusinessID)
	if err != nil {
		return Admission{}, err
	}
	r, err := a.Reserve(ctx, key, now)
	if err != nil || !r.OK {
		release()
		return Admission{Reservation: r}, err
	}
	return Admission{Reservation: r, Done: func(ctx context.Context, report *RateLimit, now time.Time, keep bool) func() {
		a.mu.Lock()
		a.dones++
		a.mu.Unlock()
		a.Release(ctx, key, report, now)
		if keep {
			a.mu.Lock()
			a.kept++
			a.mu.Unlock()
			return func() { a.mu.Lock(); a.freed++; a.mu.Unlock(); release() }
		}
		release()
		return nil
	}}, nil
}

func TestAnAdmitterAdmitsAndReleasesInOneStepEach(t *testing.T) {
	srv := newScripted(t, errorReply(420, "LIMIT", "Hit rate limit of 4 parallel requests"), chatReply(7), chatReply(7))
	a := &countingAdmitter{Leases: NewLocalLeases(4), Quotas: NewLocalQuotas(), busyFirst: true}
	c, clock := newTestClient(t, srv.srv.URL, WithLeases(a), WithQuotas(a))
	_, err := c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	assert.Equal(t, 2, a.admits, "busy once, then admitted; the retry after the 420 keeps its slot")
	assert.Equal(t, 1, a.dones, "the first attempt's Done, keeping the slot")
	assert.Equal(t, 1, a.kept)
	assert.Equal(t, 1, a.freed, "the kept slot is given back after the retry")
	assert.Equal(t, []time.Duration{heldPause, ms(100)}, clock.Sleeps(), "a pause while busy, then the parallel-limit backoff")
	_, err = c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	assert.Equal(t, 3, a.admits)
	assert.Equal(t, 2, a.dones)
	assert.Zero(t, a.Leases.(*localLeases).held(), "every slot given back")
}
