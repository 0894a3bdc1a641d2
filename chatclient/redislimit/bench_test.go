package redislimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// BenchmarkOverhead measures what the Limiter adds to one admitted call: Acquire,
// Reserve, Release and the lease's release, four Redis round trips. It reports µs/call.
func BenchmarkOverhead(b *testing.B) {
	l := limiter(b, client(b))
	ctx := context.Background()
	now := time.Now()
	report := &chatclient.RateLimit{Limit: 1 << 40, Remaining: 1 << 39, Until: now.Add(time.Hour)}
	b.ReportAllocs()
	b.ResetTimer()
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
}
