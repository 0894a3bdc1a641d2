package chatclient

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
