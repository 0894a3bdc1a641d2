package redislimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// BenchmarkOverhead measures what the Limiter adds to one call with a free slot, calls
// back to back: Admit and Done (sub-benchmark Call, in µs/call, with the Redis round
// trips it made per call), beside a PING on the same Redis (sub-benchmark RTT, in
// µs/call), the loopback round trip that bounds it from below.
func BenchmarkOverhead(b *testing.B) {
	now := time.Now()
	report := &chatclient.RateLimit{Limit: 1 << 40, Remaining: 1 << 39, Until: now.Add(time.Hour)}
	ctx := context.Background()
	b.Run("Call", func(b *testing.B) {
		trips := &roundTrips{}
		rdb := client(b)
		rdb.AddHook(trips)
		l := limiter(b, rdb)
		done(l, admit(b, l, getChat, now), report, now) // loads the script
		trips.n.Store(0)
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			a, err := l.Admit(ctx, getChat, nil, now)
			if err != nil || !a.OK {
				b.Fatalf("admit: %+v %v", a, err)
			}
			l.Done(ctx, a.Ticket, report, now, false)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/call")
		b.ReportMetric(float64(trips.n.Load())/float64(b.N), "round-trips/call")
		if l.Degraded() {
			b.Fatal("the benchmark ran on the local fallback")
		}
	})
	b.Run("RTT", func(b *testing.B) {
		rdb := client(b)
		start := time.Now()
		for b.Loop() {
			if err := rdb.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/call")
	})
}
