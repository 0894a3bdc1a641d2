package inbox_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/inbox/boltstore"
)

// TestEndToEnd runs the inbox against a fake Market that breaks every promise it can:
// 200 chats listed in a shuffled order, customers writing text, files and stickers
// (which are never pushed), the seller answering, statuses moving without a push,
// disputes, new chats, 30% of the pushes lost, the receiver down for a while, chats
// changing while a sweep pages, a handler that fails at random, and the inbox stopped
// and started again on the same file store. At the end the handler has seen exactly
// what the fake's event log holds: every chat once, every message once and in order;
// statuses and disputes as a chain of what it saw that ends where the chat is.
func TestEndToEnd(t *testing.T) {
	const seed = 20261202
	// The test's own steps draw from rng alone, so a seed replays them; the handler's
	// failures and the writes during sweeps, which run on other goroutines as they
	// come, draw from side.
	rng := rand.New(rand.NewPCG(seed, 1))
	pick := func(n int) int { return rng.IntN(n) }
	side := rand.New(rand.NewPCG(seed, 2))
	var sideMu sync.Mutex
	chance := func(p float64) bool {
		sideMu.Lock()
		defer sideMu.Unlock()
		return side.Float64() < p
	}
	sidePick := func(n int) int {
		sideMu.Lock()
		defer sideMu.Unlock()
		return side.IntN(n)
	}

	sw, rcvURL := receiver(t)
	var orders []chattest.Order
	for k := range 40 {
		orders = append(orders, chattest.Order{OrderID: int64(9000 + k)})
	}
	srv := chattest.Start(t, chats(200), chattest.WithOrders(business, orders...),
		chattest.WithPushDropRate(0.3, seed), chattest.WithListingOrder(chattest.Shuffled, seed),
		chattest.WithReceiver(rcvURL))
	client := clientOf(t, srv)
	seller := clientOf(t, srv)
	path := filepath.Join(t.TempDir(), "inbox.db")

	rec := newRecorder()
	rec.fail = func(inbox.Event) bool { return chance(0.15) }
	start := func() (*inbox.Inbox, func()) {
		store, err := boltstore.Open(path)
		require.NoError(t, err)
		ib, err := inbox.New(client, business, store, rec.handle, inbox.WithBackoff(2*time.Millisecond, 40*time.Millisecond))
		require.NoError(t, err)
		sw.to(t, ib)
		stop := run(t, ib)
		return ib, func() {
			sw.to(t) // the receiver is down while the inbox is
			stop()
			require.NoError(t, store.Close())
		}
	}
	ib, stop := start()
	rec.waitFor(t, 30*time.Second, "the first sweep's chats", func() bool { return rec.count(inbox.ChatCreated) == 200 })

	// Chats change while a sweep pages.
	srv.OnChatsPage(func(int64) {
		if chance(0.3) {
			_, err := srv.CustomerSendsSticker(business, int64(1+sidePick(200)))
			assert.NoError(t, err)
		}
	})

	ctx := context.Background()
	nextOrder := 0
	disputed := map[int64]bool{} // chats that had a dispute: one each
	var unfinished []int64       // disputes not finished yet, oldest first
	step := func() {
		chat := int64(1 + pick(200))
		var err error
		switch k := pick(100); {
		case k < 40:
			_, err = srv.CustomerWrites(business, chat, "where is my order?")
		case k < 50:
			_, err = srv.CustomerSendsSticker(business, chat)
		case k < 57:
			_, err = srv.CustomerSendsFile(business, chat, "photo.jpg", []byte("jpeg bytes"))
		case k < 72:
			err = seller.SendMessage(ctx, business, chat, "on its way")
		case k < 87:
			err = srv.SetChatStatus(business, chat, chatclient.ChatStatuses()[pick(len(chatclient.ChatStatuses()))])
		case k < 93:
			if chat%3 != 0 && !disputed[chat] {
				disputed[chat] = true
				unfinished = append(unfinished, chat)
				err = srv.StartArbitrage(business, chat)
			}
		case k < 96:
			for len(unfinished) > 0 {
				id := unfinished[0]
				unfinished = unfinished[1:]
				if c, _ := srv.Chat(business, id); c.Status != chatclient.StatusFinished { // else a status change ended it
					err = srv.FinishArbitrage(business, id)
					break
				}
			}
		default:
			if nextOrder < len(orders) {
				var id int64
				id, err = seller.CreateChat(ctx, business, chatclient.Order(orders[nextOrder].OrderID))
				nextOrder++
				if err == nil {
					_, err = srv.CustomerWrites(business, id, "hello")
				}
			}
		}
		require.NoError(t, err)
	}

	// steps takes n steps, sweeping (as Run would on its schedule) every 50.
	steps := func(ib *inbox.Inbox, n int) {
		for i := range n {
			step()
			if i%50 == 49 {
				require.NoError(t, ib.Sweep(ctx))
			}
		}
	}
	steps(ib, 250)
	// The receiver is down for a while: the pushes wait and are retried.
	srv.SetReceiverDown(true)
	steps(ib, 100)
	srv.SetReceiverDown(false)
	// Stopped and started again on the same file, with changes in between.
	stop()
	for range 100 {
		step()
	}
	ib, stop = start()
	defer stop()
	steps(ib, 150)
	srv.OnChatsPage(nil)

	// The Market is quiet now: the log is the truth to reach.
	truth := srv.Events()
	var wantMessages, wantChats int
	for _, e := range truth {
		switch e.Kind {
		case chattest.EventMessageWritten:
			wantMessages++
		case chattest.EventChatCreated:
			wantChats++
		}
	}
	// One sweep after the last change finds what no push told (statuses, stickers,
	// lost pushes); the running inbox would do the same on its own schedule.
	require.NoError(t, ib.Sweep(ctx))
	final := func() bool {
		return rec.count(inbox.NewMessage) >= wantMessages && rec.count(inbox.ChatCreated) >= wantChats && statusesReached(srv, rec, wantChats)
	}
	rec.waitFor(t, 40*time.Second, "every event of the log", final)

	// Judge: chats and messages exactly, statuses and disputes as chains.
	byChat := map[int64][]chattest.Event{}
	for _, e := range truth {
		byChat[e.ChatID] = append(byChat[e.ChatID], e)
	}
	var dup, missing, seenMsgs, statusEvents, disputeEvents int
	for chat, log := range byChat {
		seen := rec.events(chat)
		require.NotEmpty(t, seen, "chat %d", chat)
		assert.Equal(t, inbox.ChatCreated, seen[0].Kind, "chat %d: created first", chat)
		var want, got []int64
		wantStatus := []chatclient.ChatStatus{log[0].Status}
		for _, e := range log {
			switch e.Kind {
			case chattest.EventMessageWritten:
				want = append(want, e.MessageID)
			case chattest.EventStatusChanged:
				wantStatus = append(wantStatus, e.Status)
			}
		}
		gotStatus := []chatclient.ChatStatus{seen[0].Chat.Status}
		created, open := 0, false
		for _, e := range seen {
			switch e.Kind {
			case inbox.ChatCreated:
				created++
				open = e.Chat.Status == chatclient.StatusWaitingForArbiter || (e.Chat.Type == chatclient.TypeArbitrage && e.Chat.Status != chatclient.StatusFinished)
			case inbox.NewMessage:
				got = append(got, e.Message.ID)
			case inbox.StatusChanged:
				statusEvents++
				assert.Equal(t, gotStatus[len(gotStatus)-1], e.OldStatus, "chat %d: a status change starts where the last ended", chat)
				assert.NotEqual(t, e.OldStatus, e.Chat.Status)
				gotStatus = append(gotStatus, e.Chat.Status)
			case inbox.ArbitrationStarted:
				disputeEvents++
				assert.False(t, open, "chat %d: a dispute starts only when none is open", chat)
				open = true
			case inbox.ArbitrationFinished:
				disputeEvents++
				assert.True(t, open, "chat %d: a dispute finishes only when one is open", chat)
				open = false
			}
		}
		assert.Equal(t, 1, created, "chat %d: one ChatCreated", chat)
		seenMsgs += len(got)
		dup += len(got) - len(uniq(got))
		for _, id := range want {
			if !slices.Contains(got, id) {
				missing++
			}
		}
		assert.Equal(t, want, got, "chat %d: every message once, in order", chat)
		assert.True(t, isSubsequence(gotStatus, wantStatus), "chat %d: statuses %v are a chain through %v", chat, gotStatus, wantStatus)
		assert.Equal(t, wantStatus[len(wantStatus)-1], gotStatus[len(gotStatus)-1], "chat %d: ends at its status", chat)
	}
	assert.Zero(t, dup, "messages handed over twice")
	assert.Zero(t, missing, "messages never handed over")
	assert.Equal(t, wantMessages, seenMsgs)

	reqs := map[string]int{}
	for _, r := range srv.Requests() {
		reqs[r.Operation]++
	}
	t.Logf("log: %d events, %d chats, %d messages; handler: %d calls, %d messages (%d duplicates, %d missing), %d status changes, %d dispute events; pushes dropped: %d; requests: %v",
		len(truth), wantChats, wantMessages, rec.calls.Load(), seenMsgs, dup, missing, statusEvents, disputeEvents, srv.DroppedPushes(), reqs)
}

// statusesReached reports whether the handler's last word on every chat's status is
// the chat's status in the fake (chats 1 to n).
func statusesReached(srv *chattest.Server, rec *recorder, n int) bool {
	for id := int64(1); id <= int64(n); id++ {
		c, ok := srv.Chat(business, id)
		if !ok {
			return false
		}
		seen := rec.events(id)
		last := chatclient.ChatStatus("")
		for _, e := range seen {
			if e.Kind == inbox.ChatCreated || e.Kind == inbox.StatusChanged {
				last = e.Chat.Status
			}
		}
		if last != c.Status {
			return false
		}
	}
	return true
}

// uniq returns ids without repeats.
func uniq(ids []int64) []int64 {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}

// isSubsequence reports whether sub appears in seq in order (not necessarily next to
// each other).
func isSubsequence[T comparable](sub, seq []T) bool {
	i := 0
	for _, v := range seq {
		if i < len(sub) && sub[i] == v {
			i++
		}
	}
	return i == len(sub)
}
