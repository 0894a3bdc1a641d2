package chatclient

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// skewedClock is a fake clock set off from the real one.
func skewedClock(off time.Duration) *fakeClock {
	return &fakeClock{now: time.Now().Add(off).Truncate(time.Second)}
}

func TestAQuotaResetIsMeasuredOnTheMarketsClock(t *testing.T) {
	for _, off := range []time.Duration{10 * time.Minute, -2 * time.Minute} {
		t.Run(fmt.Sprint("local clock off by ", off), func(t *testing.T) {
			var reset time.Time
			srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
				now := time.Now().UTC()
				w.Header().Set("Date", now.Format(http.TimeFormat))
				if reset.IsZero() {
					reset = now.Truncate(time.Second).Add(3 * time.Second)
				}
				w.Header().Set("X-RateLimit-Resource-Until", reset.Format(http.TimeFormat))
				w.Header().Set("X-RateLimit-Resource-Limit", "1000")
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-RateLimit-Resource-Remaining", "0")
				w.WriteHeader(420)
				_, _ = w.Write([]byte(`{"status":"ERROR","errors":[{"code":"LIMIT","message":"quota"}]}`))
			}}, chatReply(7))
			c, _ := newTestClient(t, srv.srv.URL)
			clock := skewedClock(off)
			c.clock = clock
			var infos []RetryInfo
			c.hook = func(i RetryInfo) { infos = append(infos, i) }
			_, err := c.GetChat(context.Background(), 3, 7)
			require.NoError(t, err, "no refusal: the wait fits the default budget")
			require.Len(t, infos, 1)
			assert.Equal(t, WaitQuotaReset, infos[0].Reason, "a quota 420, not a parallel one")
			assert.InDelta(t, 3*time.Second, infos[0].Wait, float64(1500*time.Millisecond), "about 3s, whatever the local clock says")
			assert.Len(t, srv.requests(), 2)
		})
	}
}

func TestTheMarketsClockIsTheBestOfTheDateHeaders(t *testing.T) {
	m := newMarketClock()
	local := time.Now()
	assert.Equal(t, local, m.at(local), "before any answer: the local clock")
	note := func(skew time.Duration) { m.note(local.Add(skew), local) }
	// Dates are truncated to the second: the largest estimate is the closest.
	note(-300 * time.Millisecond)
	note(-900 * time.Millisecond)
	note(-100 * time.Millisecond)
	note(-700 * time.Millisecond)
	assert.Equal(t, local.Add(-100*time.Millisecond), m.at(local))
	// A clock stepped by minutes replaces it, either way.
	note(-10 * time.Minute)
	assert.Equal(t, local.Add(-10*time.Minute), m.at(local))
	note(2 * time.Minute)
	assert.Equal(t, local.Add(2*time.Minute), m.at(local))
	m.note(time.Time{}, local)
	assert.Equal(t, local.Add(2*time.Minute), m.at(local), "an answer without a Date tells nothing")
}
