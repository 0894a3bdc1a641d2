package chatclient

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

// sleeplessClock never ends a sleep by itself: only the context does.
type sleeplessClock struct{ *fakeClock }

func (c sleeplessClock) Sleep(ctx context.Context, d time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// resetAdmitter answers spent twice, with the same reset and a Released already
// closed (another process saw the reset), then admits.
type resetAdmitter struct {
	countingAdmitter
	until  time.Time
	spent  int
	admits int
	mu     sync.Mutex
}

func (a *resetAdmitter) Admit(ctx context.Context, key QuotaKey, now time.Time) (Admission, error) {
	a.mu.Lock()
	a.admits++
	spent := a.admits <= a.spent
	a.mu.Unlock()
	if spent {
		released := make(chan struct{})
		close(released)
		return Admission{Reservation: Reservation{Limit: 100, Until: a.until, Released: released}}, nil
	}
	return a.countingAdmitter.Admit(ctx, key, now)
}

// A shared store that says the reset has been seen (Released, with Until set) ends
// the client's wait for it early; the hook hears of that window's wait once.
func TestQuotaWaitEndsWhenTheStoreSaysSo(t *testing.T) {
	srv := newScripted(t, chatReply(7))
	clock := sleeplessClock{newFakeClock()}
	a := &resetAdmitter{countingAdmitter: countingAdmitter{Leases: NewLocalLeases(4), Quotas: NewLocalQuotas()},
		until: clock.Now().Add(5 * time.Second), spent: 2}
	var waits []RetryInfo
	c, _ := newTestClient(t, srv.srv.URL, WithLeases(a), WithQuotas(a), WithClock(clock),
		WithRetryHook(func(ri RetryInfo) { waits = append(waits, ri) }))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a sleep that is not cut short fails the test
	defer cancel()
	_, err := c.GetChat(ctx, 3, 7)
	require.NoError(t, err)
	assert.Equal(t, 3, a.admits, "spent, spent, admitted")
	require.Len(t, waits, 1, "one wait announced for the window")
	assert.Equal(t, WaitQuotaPacing, waits[0].Reason)
	assert.Equal(t, 5*time.Second, waits[0].Wait)
	assert.Equal(t, 1, a.dones)
}
