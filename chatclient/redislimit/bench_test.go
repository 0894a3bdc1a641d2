package redislimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// BenchmarkOverhead measures what the Limiter adds to one admitted call, in µs/call:
// Admit and Done, the client's path when the Limiter is both its Leases and its Quotas
// (sub-benchmark Admit): two scripts, two round trips, per call; and Acquire, Reserve,
// Release and the lease's release, four round trips, the path through the two seams
// apart (sub-benchmark Seams).
func BenchmarkOverhead(b *testing.B) {
	now := time.Now()
	report := &chatclient.RateLimit{Limit: 1 << 40, Remaining: 1 << 39, Until: now.Add(time.Hour)}
	ctx := context.Background()
	b.Run("Admit", func(b *testing.B) {
		l := limiter(b, client(b))
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			a, err := l.Admit(ctx, getChat, now)
			if err != nil || !a.OK {
				b.Fatalf("admit: %+v %v", a, err)
			}
			a.Done(ctx, report, now, false)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/call")
		if l.Degraded() {
			b.Fatal("the benchmark ran on the local fallback")
		}
	})
	b.Run("Seams", func(b *testing.B) {
		l := limiter(b, client(b))
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			release, err := l.Acquire(ctx, 100)
			if err != nil {
				b.Fatal(err)
			}
			r, err := l.Reserve(ctx, getChat, now)
			if err != nil || !r.OK {
				b.Fatalf("reserve: %+v %v", r, err)
			}
			l.Release(ctx, getChat, report, now)
			release()
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/call")
		if l.Degraded() {
			b.Fatal("the benchmark ran on the local fallback")
		}
	})
}
