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
	leases := c.limits.(*localLimits).slots
	quotas := c.limits.(*localLimits).windows
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

// countingLimits are the local limits, counting the calls of the seam.
type countingLimits struct {
	Limits
	mu                  sync.Mutex
	admits, dones, kept int
	heldAdmits          int // admits with a kept slot
}

func (l *countingLimits) Admit(ctx context.Context, key QuotaKey, held *Ticket, now time.Time) (Admission, error) {
	l.mu.Lock()
	l.admits++
	if held != nil {
		l.heldAdmits++
	}
	l.mu.Unlock()
	return l.Limits.Admit(ctx, key, held, now)
}

func (l *countingLimits) Done(ctx context.Context, t Ticket, report *RateLimit, now time.Time, keep bool) *Ticket {
	l.mu.Lock()
	l.dones++
	if keep {
		l.kept++
	}
	l.mu.Unlock()
	return l.Limits.Done(ctx, t, report, now, keep)
}

func TestEveryAttemptIsAdmittedAndEndedOnce(t *testing.T) {
	srv := newScripted(t, errorReply(420, "LIMIT", "Hit rate limit of 4 parallel requests"), chatReply(7), chatReply(7))
	l := &countingLimits{Limits: NewLocalLimits(4)}
	c, clock := newTestClient(t, srv.srv.URL, WithLimits(l))
	_, err := c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	assert.Equal(t, 2, l.admits, "the 420, then the retry")
	assert.Equal(t, 1, l.heldAdmits, "the retry after the parallel-limit 420 kept its slot")
	assert.Equal(t, 2, l.dones, "each attempt ended once")
	assert.Equal(t, 1, l.kept)
	assert.Equal(t, []time.Duration{ms(100)}, clock.Sleeps(), "the parallel-limit backoff")
	_, err = c.GetChat(context.Background(), 3, 7)
	require.NoError(t, err)
	assert.Equal(t, 3, l.admits)
	assert.Equal(t, 3, l.dones)
	assert.Zero(t, l.Limits.(*localLimits).slots.held(), "every slot given back")
}

func TestAKeptSlotIsGivenBackWhenTheCallEndsInItsBackoff(t *testing.T) {
	srv := newScripted(t, errorReply(420, "LIMIT", "Hit rate limit of 4 parallel requests"))
	l := &countingLimits{Limits: NewLocalLimits(4)}
	c, _ := newTestClient(t, srv.srv.URL, WithLimits(l), WithClock(sleeplessClock{newFakeClock()}))
	ctx, cancel := context.WithCancel(context.Background())
	c.hook = func(RetryInfo) { cancel() } // the caller gives up during the backoff
	_, err := c.GetChat(ctx, 3, 7)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, l.kept)
	assert.Equal(t, 2, l.dones, "the attempt, then the kept slot")
	assert.Zero(t, l.Limits.(*localLimits).slots.held(), "no slot is left taken")
	w := l.Limits.(*localLimits).windows.m[QuotaKey{BusinessID: 3, Operation: OpGetChat}]
	if w != nil {
		assert.Zero(t, w.reserved, "and no place in the quota")
	}
}

// sleeplessClock never ends a sleep by itself: only the context does.
type sleeplessClock struct{ *fakeClock }

func (c sleeplessClock) Sleep(ctx context.Context, d time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// resetLimits answer spent twice, with the same reset and a Wake already closed
// (another process saw the reset), then admit.
type resetLimits struct {
	countingLimits
	until time.Time
	spent int
}

func (l *resetLimits) Admit(ctx context.Context, key QuotaKey, held *Ticket, now time.Time) (Admission, error) {
	l.mu.Lock()
	spent := l.admits < l.spent
	l.mu.Unlock()
	if spent {
		l.mu.Lock()
		l.admits++
		l.mu.Unlock()
		woken := make(chan struct{})
		close(woken)
		return Admission{Limit: 100, Until: l.until, Wake: woken}, nil
	}
	return l.countingLimits.Admit(ctx, key, held, now)
}

// A shared store that says the reset has been seen (Wake, with Until set) ends the
// client's wait for it early; the hook hears of that window's wait once.
func TestQuotaWaitEndsWhenTheStoreSaysSo(t *testing.T) {
	srv := newScripted(t, chatReply(7))
	clock := sleeplessClock{newFakeClock()}
	l := &resetLimits{countingLimits: countingLimits{Limits: NewLocalLimits(4)}, until: clock.Now().Add(5 * time.Second), spent: 2}
	var waits []RetryInfo
	c, _ := newTestClient(t, srv.srv.URL, WithLimits(l), WithClock(clock),
		WithRetryHook(func(ri RetryInfo) { waits = append(waits, ri) }))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a sleep that is not cut short fails the test
	defer cancel()
	_, err := c.GetChat(ctx, 3, 7)
	require.NoError(t, err)
	assert.Equal(t, 3, l.admits, "spent, spent, admitted")
	require.Len(t, waits, 1, "one wait announced for the window")
	assert.Equal(t, WaitQuotaPacing, waits[0].Reason)
	assert.Equal(t, 5*time.Second, waits[0].Wait)
	assert.Equal(t, 1, l.dones)
}
