package inbox_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/notify"
)

// unlimited lifts the hourly quotas of the operations an inbox spends, for
// benchmarks that count requests rather than wait for windows.
func unlimited() chattest.Option {
	return func(s *chattest.Server) error {
		for _, op := range []string{"getChats", "getChatHistory", "getChat"} {
			if err := chattest.WithQuota(op, chattest.Quota{})(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// BenchmarkCatchUp is catching up after downtime: 2,000 chats, of which 100 gained a
// sticker (no push) while the inbox was down. Its floor is the minimum any client
// pays: ceil(2000/20) = 100 getChats and one history page per changed chat.
func BenchmarkCatchUp(b *testing.B) {
	const total, changed = 2000, 100
	clock := chattest.NewClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	srv := chattest.Start(b, chattest.WithClock(clock.Now), chats(total), unlimited()) // the clock first: WithChat dates chats by it
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL), chatclient.WithClock(clock))
	require.NoError(b, err)
	rec := newRecorder()
	ib, err := inbox.New(client, business, inbox.NewMemoryStore(), rec.handle)
	require.NoError(b, err)
	ctx := context.Background()
	_, err = ib.Once(ctx)
	require.NoError(b, err)

	var getChats, history int
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// Caught up long before the downtime: a chat read within the second of its
		// last message is read once more by the next sweep (updatedAt has one-second
		// precision), which this settling pass pays for.
		clock.Advance(time.Minute)
		_, err := ib.Once(ctx)
		require.NoError(b, err)
		clock.Advance(time.Minute) // downtime
		for k := range changed {
			_, err := srv.CustomerSendsSticker(business, int64(1+(i*changed+k*19)%total))
			require.NoError(b, err)
		}
		srv.ResetRequests()
		b.StartTimer()
		rep, err := ib.Once(ctx)
		b.StopTimer()
		require.NoError(b, err)
		require.Empty(b, rep.HeldBack)
		require.GreaterOrEqual(b, rep.Events, changed, "every sticker handed over")
		got := requests(srv)
		getChats += got["getChats"]
		history += got["getChatHistory"]
		b.StartTimer()
	}
	minimum := (total+chatclient.MaxPageSize-1)/chatclient.MaxPageSize + changed
	b.ReportMetric(float64(getChats)/float64(b.N), "getChats/op")
	b.ReportMetric(float64(history)/float64(b.N), "getChatHistory/op")
	b.ReportMetric(float64(minimum), "floor-calls/op")
	b.ReportMetric(float64(getChats+history)/float64(b.N*minimum), "x-floor")
}

// BenchmarkPushToHandler is the time from a CHAT_MESSAGE_SENT push to the message
// reaching the handler, against a fake that takes 20 ms a request. Its floor, measured
// in the same run, is one history read of the same chat by a plain client call: the
// least any client pays to learn what a push announced.
func BenchmarkPushToHandler(b *testing.B) {
	const latency = 20 * time.Millisecond
	const nChats = 20
	srv := chattest.Start(b, chats(nChats), unlimited(), chattest.WithFaultRate(1, 1, chattest.Delay(latency)))
	client := clientOf(b, srv)
	arrived := make(chan int64, 64)
	handle := func(_ context.Context, e inbox.Event) error {
		if e.Kind == inbox.NewMessage {
			arrived <- e.Message.ID
		}
		return nil
	}
	ib, err := inbox.New(client, business, inbox.NewMemoryStore(), handle, inbox.WithMinInterval(time.Hour))
	require.NoError(b, err)
	ctx := context.Background()
	_, err = ib.Once(ctx) // known chats, as in a running desk
	require.NoError(b, err)
	settled := time.Now()
	stop := run(b, ib)
	defer stop()
	// Run sweeps at once; time pushes only after that sweep's reads are done.
	for at, _ := ib.LastSweep(); !at.After(settled) || ib.Pending() > 0; at, _ = ib.LastSweep() {
		time.Sleep(time.Millisecond)
	}
	h, err := notify.NewHandler(inbox.NotifyOptions(ib)...)
	require.NoError(b, err)
	receiver := httptest.NewServer(h)
	defer receiver.Close()

	var pushed, floor []time.Duration
	b.ResetTimer()
	for i := range b.N {
		chat := int64(1 + i%nChats)
		id, err := srv.CustomerWrites(business, chat, fmt.Sprintf("where is order %d?", i))
		require.NoError(b, err)

		began := time.Now()
		for m, err := range client.Messages(ctx, business, chat, id) {
			require.NoError(b, err)
			require.Equal(b, id, m.ID)
			break
		}
		floor = append(floor, time.Since(began))

		body := fmt.Sprintf(`{"notificationType":"CHAT_MESSAGE_SENT","businessId":%d,"chatId":%d,"messageId":"%d","sentAt":"2026-12-02T09:00:00Z"}`,
			business, chat, id)
		began = time.Now()
		resp, err := http.Post(receiver.URL, "application/json", strings.NewReader(body))
		require.NoError(b, err)
		resp.Body.Close()
		require.Equal(b, http.StatusOK, resp.StatusCode)
		for got := <-arrived; got != id; got = <-arrived {
		}
		pushed = append(pushed, time.Since(began))
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(percentile(pushed, 50)), "push-p50-ms")
	b.ReportMetric(ms(percentile(pushed, 99)), "push-p99-ms")
	b.ReportMetric(ms(percentile(floor, 50)), "floor-p50-ms")
	b.ReportMetric(ms(percentile(floor, 99)), "floor-p99-ms")
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100
	return s[max(rank-1, 0)]
}

// drivenClock is the inbox's clock in the steady-state benchmark: each wait between
// two sweeps is time in which customers write and pushes arrive, acted out (and
// handled) before the clock moves on.
type drivenClock struct {
	*chattest.Clock
	during func(d time.Duration)
}

func (c drivenClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.during(d)
	return c.Clock.Sleep(ctx, d)
}

// BenchmarkSteadyState runs an inbox over 2,000 chats for hours of the fake's time,
// with customers writing 600 messages an hour, each announced by a push, and reports
// the share of each hourly quota it spent over three hours once settled. The goal: at
// most the configured share (a fifth). History reads count the pushes' reads too.
func BenchmarkSteadyState(b *testing.B) {
	const total, perHour, hours = 2000, 600, 3
	// A new store first hands over every chat's whole history: 2,000 reads, the
	// share of an hour's getChatHistory quota, after which the sweeps space out and
	// then settle to their pace, within two hours of the fake's time.
	const settle = 2 * time.Hour
	for range b.N {
		start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		clock := chattest.NewClock(start)
		srv := chattest.Start(b, chattest.WithClock(clock.Now), chats(total)) // the documented quotas
		client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL), chatclient.WithClock(clock))
		require.NoError(b, err)
		rec := newRecorder()
		ctx, cancel := context.WithCancel(context.Background())
		rnd := rand.New(rand.NewPCG(1, 2))
		var (
			receiver         *httptest.Server
			ib               *inbox.Inbox
			owed             float64
			fromAt, toAt     time.Time
			fromReqs, toReqs map[string]int
			pushedHandled    int
		)
		// A failure inside the inbox's wait must end Run, not the goroutine alone
		// (Run would then wait for its workers forever): it is kept, and checked once
		// Run has returned.
		var failure error
		fail := func(format string, a ...any) {
			if failure == nil {
				failure = fmt.Errorf(format, a...)
			}
			cancel()
		}
		clk := drivenClock{Clock: clock}
		clk.during = func(d time.Duration) {
			now := clock.Now()
			switch {
			case fromReqs == nil && !now.Before(start.Add(settle)):
				fromAt, fromReqs = now, requests(srv)
			case fromReqs != nil && !now.Before(fromAt.Add(hours*time.Hour)):
				toAt, toReqs = now, requests(srv)
				cancel()
				return
			}
			want := rec.count(inbox.NewMessage)
			for owed += d.Hours() * perHour; owed >= 1; owed-- {
				chat := int64(1 + rnd.IntN(total))
				id, err := srv.CustomerWrites(business, chat, "where is my order?")
				if err != nil {
					fail("customer writes: %v", err)
					return
				}
				body := fmt.Sprintf(`{"notificationType":"CHAT_MESSAGE_SENT","businessId":%d,"chatId":%d,"messageId":"%d","sentAt":%q}`,
					business, chat, id, now.Format(time.RFC3339))
				resp, err := http.Post(receiver.URL, "application/json", strings.NewReader(body))
				if err != nil {
					fail("push: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail("push answered %d", resp.StatusCode)
					return
				}
				want++
				pushedHandled++
			}
			for bound := time.Now().Add(time.Minute); rec.count(inbox.NewMessage) < want || ib.Pending() > 0; {
				if time.Now().After(bound) {
					fail("after a minute: %d of %d pushed messages handled", rec.count(inbox.NewMessage), want)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}
		ib, err = inbox.New(client, business, inbox.NewMemoryStore(), rec.handle, inbox.WithClock(clk))
		require.NoError(b, err)
		h, err := notify.NewHandler(inbox.NotifyOptions(ib)...)
		require.NoError(b, err)
		receiver = httptest.NewServer(h)
		var wg sync.WaitGroup
		wg.Go(func() { _ = ib.Run(ctx) })
		wg.Wait()
		receiver.Close()
		require.NoError(b, failure)

		span := toAt.Sub(fromAt).Hours()
		getChats := float64(toReqs["getChats"]-fromReqs["getChats"]) / span
		history := float64(toReqs["getChatHistory"]-fromReqs["getChatHistory"]) / span
		limits := chattest.DocumentedQuotas()
		b.ReportMetric(getChats/float64(limits["getChats"].Limit), "getChats-share")
		b.ReportMetric(history/float64(limits["getChatHistory"].Limit), "getChatHistory-share")
		b.ReportMetric(inbox.DefaultShare, "share-goal")
		b.ReportMetric(float64(pushedHandled), "pushes")
	}
}

// BenchmarkStateBytesPerChat is the heap an inbox with a MemoryStore keeps per chat
// after handing over every chat of a business, at 1,000, 10,000 and 100,000 chats,
// and the bytes a later sweep that finds nothing new allocates per chat, beside its
// floor from the same run: a plain listing of every chat by the client (both count
// the in-process fake's allocations too; the difference is the inbox's own). All
// stay flat as the business grows.
func BenchmarkStateBytesPerChat(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("chats=%d", n), func(b *testing.B) {
			srv := chattest.Start(b, chats(n), unlimited(), chattest.WithRequestLog(0))
			client := clientOf(b, srv)
			ctx := context.Background()
			var kept, swept, listed float64
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				store := inbox.NewMemoryStore()
				ib, err := inbox.New(client, business, store, func(context.Context, inbox.Event) error { return nil })
				require.NoError(b, err)
				rep, err := ib.Once(ctx)
				require.NoError(b, err)
				require.Equal(b, n, rep.Handled)
				runtime.GC()
				runtime.ReadMemStats(&after)
				kept = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)

				runtime.ReadMemStats(&before)
				rep, err = ib.Once(ctx)
				require.NoError(b, err)
				require.Zero(b, rep.Events)
				runtime.ReadMemStats(&after)
				swept = float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
				runtime.KeepAlive(ib)

				runtime.ReadMemStats(&before)
				for _, err := range client.Chats(ctx, business, chatclient.Filter{}) {
					require.NoError(b, err)
				}
				runtime.ReadMemStats(&after)
				listed = float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
			}
			b.ReportMetric(kept, "kept-B/chat")
			b.ReportMetric(swept, "sweep-alloc-B/chat")
			b.ReportMetric(listed, "list-alloc-B/chat")
		})
	}
}
