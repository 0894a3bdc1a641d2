package inbox

import (
	"context"
	"sync"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// job is what is known about a chat that needs a look.
type job struct {
	// obs is the chat as a listing or getChat showed it at obsAt; nil when a push
	// only said it has news.
	obs   *chatclient.Chat
	obsAt time.Time
	// wantChat asks for a getChat first (a push about a new chat or a dispute).
	wantChat bool
}

// merge folds a later request about the same chat into j.
func (j job) merge(o job) job {
	if o.obs != nil && (j.obs == nil || o.obsAt.After(j.obsAt)) {
		j.obs, j.obsAt = o.obs, o.obsAt
	}
	j.wantChat = j.wantChat || o.wantChat
	return j
}

// queue hands chats to workers: each chat to one worker at a time, in the order they
// were asked for, a failing chat only after its backoff, without holding back others.
type queue struct {
	mu      sync.Mutex
	order   []int64             // chats waiting, oldest request first
	pending map[int64]job       // by chat; a chat is in order iff it is here
	running map[int64]bool      // chats a worker holds
	due     map[int64]time.Time // a failed chat's next try
	fails   map[int64]int
	wake    chan struct{} // 1-buffered: something may be ready
	backoff func(fails int) time.Duration
	now     func() time.Time
}

func newQueue(backoff func(int) time.Duration) *queue {
	return &queue{pending: map[int64]job{}, running: map[int64]bool{}, due: map[int64]time.Time{},
		fails: map[int64]int{}, wake: make(chan struct{}, 1), backoff: backoff, now: time.Now}
}

// add asks for a look at a chat; requests for a chat already waiting merge into one.
func (q *queue) add(chatID int64, j job) {
	q.mu.Lock()
	if p, ok := q.pending[chatID]; ok {
		q.pending[chatID] = p.merge(j)
	} else {
		q.pending[chatID] = j
		q.order = append(q.order, chatID)
	}
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take waits for a chat that is waiting, not held by another worker and past its
// backoff, and hands it to the caller, who must call done. With drain it returns
// false as soon as no chat waits: a chat another worker holds is that worker's to
// finish, and it takes the chat again itself should it fail.
func (q *queue) take(ctx context.Context, drain bool) (int64, job, bool) {
	for {
		q.mu.Lock()
		if ctx.Err() != nil || (drain && len(q.order) == 0) {
			q.mu.Unlock()
			return 0, job{}, false
		}
		now := q.now()
		var next time.Time
		for i, id := range q.order {
			if q.running[id] {
				continue
			}
			if d, ok := q.due[id]; ok && d.After(now) {
				if next.IsZero() || d.Before(next) {
					next = d
				}
				continue
			}
			j := q.pending[id]
			delete(q.pending, id)
			// Take it out by moving the ones before it up a place: the chat taken
			// is nearly always at or near the front, so this costs little even
			// when a first pass over a large business has queued every chat.
			copy(q.order[1:i+1], q.order[:i])
			q.order = q.order[1:]
			q.running[id] = true
			more := len(q.order) > 0
			q.mu.Unlock()
			if more {
				q.signal() // another worker may take the next one
			}
			return id, j, true
		}
		q.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(next.Sub(now))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// clear empties the queue and returns the chats that were waiting (not those a
// worker holds): what a pass cut short leaves to the next one.
func (q *queue) clear() []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	left := q.order
	q.order, q.pending, q.due, q.fails = nil, map[int64]job{}, map[int64]time.Time{}, map[int64]int{}
	return left
}

// done gives a chat back: after a failure it is asked for again, after its backoff.
func (q *queue) done(chatID int64, j job, err error) {
	q.mu.Lock()
	delete(q.running, chatID)
	if err == nil {
		delete(q.fails, chatID)
		delete(q.due, chatID)
		if len(q.pending)+len(q.running)+len(q.fails) == 0 {
			// Go's maps never shrink: let go of what a first pass over a large
			// business grew, so an idle inbox keeps nothing per chat.
			q.order, q.pending, q.running, q.due = nil, map[int64]job{}, map[int64]bool{}, map[int64]time.Time{}
		}
	} else {
		q.fails[chatID]++
		q.due[chatID] = q.now().Add(q.backoff(q.fails[chatID]))
	}
	q.mu.Unlock()
	if err != nil {
		q.add(chatID, j)
	} else {
		q.signal()
	}
}

// size returns how many chats wait or are being handled.
func (q *queue) size() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) + len(q.running)
}
