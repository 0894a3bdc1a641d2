package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/notify"
)

func TestDedup(t *testing.T) {
	var calls, successes atomic.Int32
	srv := serve(t, "/notification", notify.WithDedup(100),
		notify.OnChatMessageSent(func(context.Context, notify.ChatMessageSent) error {
			if calls.Add(1) <= 2 {
				return errors.New("not yet")
			}
			successes.Add(1)
			return nil
		}))
	requireError(t, post(t, srv, sent), http.StatusInternalServerError, "UNKNOWN", "failed")
	requireError(t, post(t, srv, sent), http.StatusInternalServerError, "UNKNOWN", "failed")
	requireOK(t, post(t, srv, sent))
	require.Equal(t, int32(3), calls.Load())
	require.Equal(t, int32(1), successes.Load())

	requireOK(t, post(t, srv, sent)) // the duplicate
	// The same message sent as a number, with the time in another offset: a repeat too.
	requireOK(t, post(t, srv, `{"notificationType":"CHAT_MESSAGE_SENT","sentAt":"2026-01-02T03:04:05Z","businessId":7,"messageId":1004,"chatId":81}`))
	assert.Equal(t, int32(3), calls.Load(), "duplicates run no user code")

	// Another message in the same chat is not a repeat.
	requireOK(t, post(t, srv, strings.Replace(sent, `"1004"`, `"1005"`, 1)))
	assert.Equal(t, int32(4), calls.Load())
}

func TestDedupOtherTypesAndEviction(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, "/notification", notify.WithDedup(2), notify.OnNotification(func(context.Context, notify.Notification) error {
		calls.Add(1)
		return nil
	}))
	a := `{"notificationType":"ORDER_CREATED","orderId":1}`
	b := `{"notificationType":"ORDER_CREATED","orderId":2}`
	requireOK(t, post(t, srv, a))
	requireOK(t, post(t, srv, a))
	requireOK(t, post(t, srv, b))
	requireOK(t, post(t, srv, created)) // evicts a
	require.Equal(t, int32(3), calls.Load())
	requireOK(t, post(t, srv, a))
	assert.Equal(t, int32(4), calls.Load(), "the oldest entry was evicted")
}

// TestDedupLateSuccess: a function that succeeds after its request was answered is
// remembered, so the Market's retry is answered 200 without running it again.
func TestDedupLateSuccess(t *testing.T) {
	t.Run("after the deadline; a repeat meanwhile waits its own deadline", func(t *testing.T) {
		var calls atomic.Int32
		release, returned := make(chan struct{}), make(chan struct{})
		srv := serve(t, "/notification", notify.WithDedup(10), notify.WithTimeout(50*time.Millisecond),
			notify.OnChatCreated(func(context.Context, notify.ChatCreated) error {
				if calls.Add(1) > 1 {
					return errors.New("ran again")
				}
				defer close(returned)
				<-release // past the deadline: the test answers first
				return nil
			}))
		requireError(t, post(t, srv, created), http.StatusInternalServerError, "UNKNOWN", "did not finish within 50ms")
		// A retry while the function still runs waits for it, up to its own deadline.
		requireError(t, post(t, srv, created), http.StatusInternalServerError, "UNKNOWN", "did not finish within 50ms")
		require.Equal(t, int32(1), calls.Load(), "the repeat did not run the function beside the first")

		close(release)
		<-returned
		requireOK(t, post(t, srv, created))
		assert.Equal(t, int32(1), calls.Load())
	})
	t.Run("after the caller hung up", func(t *testing.T) {
		var calls atomic.Int32
		entered, release, returned := make(chan struct{}), make(chan struct{}), make(chan struct{})
		h := newHandler(t, notify.WithDedup(10), notify.OnChatCreated(func(ctx context.Context, _ notify.ChatCreated) error {
			if calls.Add(1) > 1 {
				return errors.New("ran again")
			}
			defer close(returned)
			close(entered)
			<-release
			return ctx.Err() // not cancelled by the hang-up
		}))
		served := make(chan struct{}, 2)
		srv := serveHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			served <- struct{}{}
		}))

		ctx, hangUp := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(created))
		require.NoError(t, err)
		failed := make(chan error, 1)
		go func() {
			resp, err := srv.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			failed <- err
		}()
		<-entered
		hangUp()
		assert.ErrorIs(t, <-failed, context.Canceled)
		<-served // the handler gave up on the request that is gone

		close(release)
		<-returned
		requireOK(t, post(t, srv, created))
		assert.Equal(t, int32(1), calls.Load())
	})
}

// TestDedupCoalescesRepeats: many copies of one notification arriving together run
// the function once, and all are answered 200.
func TestDedupCoalescesRepeats(t *testing.T) {
	const copies = 1000
	var calls, arrived atomic.Int32
	all := make(chan struct{})
	h := newHandler(t, notify.WithDedup(10), notify.WithTimeout(notify.MaxTimeout),
		notify.OnChatMessageSent(func(ctx context.Context, _ notify.ChatMessageSent) error {
			calls.Add(1)
			select {
			case <-all: // every copy has reached the handler while this one runs
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}))
	srv := serveHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == copies {
			close(all)
		}
		h.ServeHTTP(w, r)
	}))

	count := map[int]int{}
	for _, a := range sendTogether(t, srv, sent, copies) {
		count[a.status]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: copies}, count)
	assert.Equal(t, int32(1), calls.Load())
}

// sendTogether posts body n times at once and returns the answers once all came.
// Only the first is checked against openapi.yaml, to keep the test lean.
func sendTogether(t testing.TB, srv *httptest.Server, body string, n int) []answer {
	t.Helper()
	answers := make([]answer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i], errs[i] = send(srv, http.MethodPost, "/notification", body) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	mustSpec(t).validateResponse(t, http.MethodPost, answers[0].status, answers[0].header, answers[0].body)
	return answers
}

// TestDedupRepeatsShareFailure: repeats waiting for a run that fails get its 500;
// the next delivery runs the function again.
func TestDedupRepeatsShareFailure(t *testing.T) {
	const copies = 10
	var calls atomic.Int32
	waiting := make(chan struct{}, copies)
	h := newHandler(t, notify.WithDedup(10), notify.OnChatCreated(func(context.Context, notify.ChatCreated) error {
		if calls.Add(1) > 1 {
			return nil
		}
		for range copies - 1 {
			<-waiting // every other copy waits for this run
		}
		return errors.New("database is down")
	}))
	notify.SetWaitingHook(h, func() { waiting <- struct{}{} })
	srv := serveHandler(t, h)

	for _, a := range sendTogether(t, srv, created, copies) {
		requireError(t, a, http.StatusInternalServerError, "UNKNOWN", "notification handler failed")
	}
	require.Equal(t, int32(1), calls.Load())

	requireOK(t, post(t, srv, created))
	assert.Equal(t, int32(2), calls.Load())
}

// TestDedupMemory: the set takes memory as it fills, a fixed amount per notification
// whatever the size of its ids.
func TestDedupMemory(t *testing.T) {
	t.Run("nothing up front", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		h, err := notify.NewHandler(notify.WithDedup(1_000_000))
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		runtime.KeepAlive(h)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated by NewHandler(WithDedup(1_000_000))")
	})
	t.Run("256 KiB ids", func(t *testing.T) {
		var calls atomic.Int32
		srv := serve(t, "/notification", notify.WithDedup(100), notify.OnChatMessageSent(func(context.Context, notify.ChatMessageSent) error {
			calls.Add(1)
			return nil
		}))
		id := strings.Repeat("7", 256<<10)
		body := func(i int) string {
			return fmt.Sprintf(`{"notificationType":"CHAT_MESSAGE_SENT","chatId":1,"messageId":"%s%d","businessId":2,"sentAt":"2026-01-02T03:04:05Z"}`, id, i)
		}
		requireOK(t, post(t, srv, body(0))) // the connection and the spec are set up before measuring
		before := liveHeap()
		const ids = 16
		for i := 1; i <= ids; i++ {
			requireOK(t, post(t, srv, body(i)))
		}
		kept := liveHeap() - before
		t.Logf("%d ids of 256 KiB keep %d bytes", ids, kept)
		assert.Less(t, kept, int64(ids*(256<<10)/8), "bytes kept for %d ids of 256 KiB", ids)
		require.Equal(t, int32(ids+1), calls.Load())

		requireOK(t, post(t, srv, body(1)))
		assert.Equal(t, int32(ids+1), calls.Load(), "the repeat is recognised")
	})
}

// liveHeap returns the bytes of live heap objects.
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC() // what sync.Pools held through the first
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
