package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/notify"
)

// business is the business every test uses.
const business = 7

// chats returns n chats of the business, ids 1 to n: most about orders (2000+id),
// every third a DIRECT chat, in several statuses.
func chats(n int) chattest.Option {
	statuses := []chatclient.ChatStatus{chatclient.StatusNew, chatclient.StatusWaitingForPartner,
		chatclient.StatusWaitingForCustomer, chatclient.StatusFinished}
	var out []chattest.Chat
	for i := 1; i <= n; i++ {
		c := chattest.Chat{ID: int64(i), Status: statuses[i%len(statuses)], Age: time.Duration(n+i) * time.Hour, Idle: time.Duration(n-i+1) * time.Minute}
		if i%3 != 0 {
			c.About = chatclient.Order(int64(2000 + i))
		}
		out = append(out, c)
	}
	return chattest.WithChat(business, out...)
}

// clientOf returns a client of the fake with short retries.
func clientOf(t testing.TB, srv *chattest.Server) *chatclient.Client {
	t.Helper()
	policy := chatclient.DefaultRetryPolicy()
	policy.Backoff = chatclient.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2}
	policy.ParallelBackoff = policy.Backoff
	c, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL), chatclient.WithRetryPolicy(policy))
	require.NoError(t, err)
	return c
}

// recorder is a handler that remembers every event it took, per chat, and wakes
// waiters on each one.
type recorder struct {
	mu     sync.Mutex
	byChat map[int64][]inbox.Event
	total  int
	kinds  map[inbox.Kind]int
	wake   chan struct{}
	fail   func(e inbox.Event) bool // fails the call when it returns true
	calls  atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{byChat: map[int64][]inbox.Event{}, kinds: map[inbox.Kind]int{}, wake: make(chan struct{}, 1)}
}

func (r *recorder) handle(_ context.Context, e inbox.Event) error {
	r.calls.Add(1)
	if r.fail != nil && r.fail(e) {
		r.signal()
		return fmt.Errorf("the desk is busy")
	}
	r.mu.Lock()
	r.byChat[e.ChatID] = append(r.byChat[e.ChatID], e)
	r.total++
	r.kinds[e.Kind]++
	r.mu.Unlock()
	r.signal()
	return nil
}

// signal wakes a waiter.
func (r *recorder) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// count returns how many events of kind were handled.
func (r *recorder) count(kind inbox.Kind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kinds[kind]
}

// events returns a copy of the events handled for a chat.
func (r *recorder) events(chatID int64) []inbox.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]inbox.Event{}, r.byChat[chatID]...)
}

// waitFor waits until cond holds, checking after each handler call (and every few
// milliseconds, for conditions no call signals, such as an empty queue), for at most
// bound; it fails the test after that.
func (r *recorder) waitFor(t testing.TB, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-r.wake:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("after %s: still waiting for %s", bound, what)
		}
	}
}

// run runs an inbox until the returned stop is called; stop waits for Run to return.
func run(t testing.TB, ib *inbox.Inbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
		})
	}
	t.Cleanup(stop)
	return stop
}

// switchable is a notification endpoint whose handler can be swapped, or removed (it
// then answers 503, as a receiver that is down).
type switchable struct {
	h atomic.Pointer[http.Handler]
}

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := s.h.Load()
	if h == nil {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// to points the endpoint at a notify.Handler of the inboxes, or nowhere.
func (s *switchable) to(t testing.TB, inboxes ...*inbox.Inbox) {
	t.Helper()
	if len(inboxes) == 0 {
		s.h.Store(nil)
		return
	}
	h, err := notify.NewHandler(inbox.NotifyOptions(inboxes...)...)
	require.NoError(t, err)
	var hh http.Handler = h
	s.h.Store(&hh)
}

// receiver starts a switchable endpoint that answers PINGs until pointed somewhere.
func receiver(t testing.TB) (*switchable, string) {
	t.Helper()
	sw := &switchable{}
	h, err := notify.NewHandler()
	require.NoError(t, err)
	var hh http.Handler = h
	sw.h.Store(&hh)
	srv := httptest.NewServer(sw)
	t.Cleanup(srv.Close)
	return sw, srv.URL
}

// chattestOrder is the subject of an order.
func chattestOrder(id int64) chatclient.Subject { return chatclient.Order(id) }
