package chatclient

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Clock tells the time and sleeps. The client uses the system clock; tests inject their
// own to make waits exact and instant.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx is done, in which case it returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

type systemClock struct{}

// Now is time.Now.
func (systemClock) Now() time.Time { return time.Now() }

// Sleep waits on a timer or the context.
func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// marketClock is what the client knows of the Market's clock: how far it is from
// ours, from the Date headers of the answers. Quota resets and a send's window are
// times on the Market's clock.
type marketClock struct {
	skew atomic.Int64 // the Market's clock minus ours; skewUnknown before the first Date
}

func newMarketClock() *marketClock {
	m := &marketClock{}
	m.skew.Store(skewUnknown)
	return m
}

// skewUnknown marks the skew before the first Date header.
const skewUnknown = math.MinInt64

// clockStep is how far below the best estimate a new one must fall to be taken as a
// step of the local clock (or the Market's) rather than a Date truncated to the second.
const clockStep = 2 * time.Second

// note takes the Date of an answer that arrived at the local time arrived: a Date
// header is the Market's time truncated to the second, so each estimate of the skew is
// at most a second below the truth and never above it. The largest estimate is the
// best; a much lower one means a clock was stepped, and replaces it.
func (m *marketClock) note(date, arrived time.Time) {
	if date.IsZero() {
		return
	}
	est := int64(date.Sub(arrived))
	for {
		cur := m.skew.Load()
		if cur != skewUnknown && est <= cur && est >= cur-int64(clockStep) {
			return
		}
		if m.skew.CompareAndSwap(cur, est) {
			return
		}
	}
}

// at is the Market's time at the local time local, as far as the Date headers of the
// answers tell (to within a second, and never ahead of the Market's clock).
func (m *marketClock) at(local time.Time) time.Time {
	s := m.skew.Load()
	if s == skewUnknown {
		return local
	}
	return local.Add(time.Duration(s))
}
