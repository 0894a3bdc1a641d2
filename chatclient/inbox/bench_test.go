package inbox_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
)

// BenchmarkCatchUp is catching up after downtime: 2,000 chats, of which 100 gained a
// sticker (no push) while the inbox was down. The goal: at most ceil(2000/20) = 100
// getChats and one history page per changed chat, reported per catch-up.
func BenchmarkCatchUp(b *testing.B) {
	const total, changed = 2000, 100
	clock := chattest.NewClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	srv := chattest.Start(b, chattest.WithClock(clock.Now), chats(total), // the clock first: WithChat dates chats by it
		chattest.WithQuota("getChats", chattest.Quota{}), chattest.WithQuota("getChatHistory", chattest.Quota{}))
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL), chatclient.WithClock(clock))
	require.NoError(b, err)
	store := inbox.NewMemoryStore()
	rec := newRecorder()
	// settle runs an inbox until a sweep is done and nothing is pending: caught up.
	settle := func() {
		ib, err := inbox.New(client, business, store, rec.handle)
		require.NoError(b, err)
		stop := run(b, ib)
		rec.waitFor(b, time.Minute, "a sweep", func() bool {
			swept, _ := ib.LastSweep()
			return !swept.IsZero() && ib.Pending() == 0
		})
		stop()
	}
	settle()

	var getChats, history int
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// Caught up long before the downtime: a chat read within the second of its
		// last message is read once more by the next sweep (updatedAt has one-second
		// precision), which the settling sweep pays for.
		clock.Advance(time.Minute)
		settle()
		clock.Advance(time.Minute) // downtime
		for k := range changed {
			_, err := srv.CustomerSendsSticker(business, int64(1+(i*changed+k*19)%total))
			require.NoError(b, err)
		}
		srv.ResetRequests()
		ib, err := inbox.New(client, business, store, rec.handle)
		require.NoError(b, err)
		want := rec.count(inbox.NewMessage) + changed
		b.StartTimer()
		stop := run(b, ib) // Run sweeps at once
		rec.waitFor(b, time.Minute, "the stickers", func() bool {
			swept, _ := ib.LastSweep()
			return !swept.IsZero() && rec.count(inbox.NewMessage) >= want && ib.Pending() == 0
		})
		b.StopTimer()
		stop()
		got := requests(srv)
		getChats += got["getChats"]
		history += got["getChatHistory"]
		b.StartTimer()
	}
	b.ReportMetric(float64(getChats)/float64(b.N), "getChats/op")
	b.ReportMetric(float64(history)/float64(b.N), "getChatHistory/op")
	if getChats > b.N*(total+chatclient.MaxPageSize-1)/chatclient.MaxPageSize || history > b.N*changed {
		b.Fatalf("catch-up cost %d getChats and %d getChatHistory over %d runs; want at most %d and %d a run",
			getChats, history, b.N, (total+chatclient.MaxPageSize-1)/chatclient.MaxPageSize, changed)
	}
}

// BenchmarkMemoryStoreBytesPerChat is the memory a MemoryStore takes per chat.
func BenchmarkMemoryStoreBytesPerChat(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	var perChat float64
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := inbox.NewMemoryStore()
		for id := range int64(n) {
			_ = s.Save(ctx, business, inbox.ChatState{ChatID: id + 1, Known: true, LastMessageID: 1_000_000 + id,
				Status: chatclient.StatusWaitingForPartner, UpdatedAt: time.Now(), ReadAt: time.Now(), ObservedAt: time.Now()})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perChat = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perChat, "bytes/chat")
}
