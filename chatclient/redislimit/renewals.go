package redislimit

import (
	"sync"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// renewals keeps alive the slots of this process's running requests: a slot lives a
// lease TTL unless renewed, so that those of a process that dies come back soon.
type renewals struct {
	every time.Duration
	renew func(key chatclient.QuotaKey, slot string) (alive bool)

	mu     sync.Mutex
	timers map[string]*time.Timer // by slot id: the next renewal
	closed bool
	wg     sync.WaitGroup // renewals under way
}

// start renews slot every third of the TTL until stop; a slot already renewed goes on.
func (r *renewals) start(key chatclient.QuotaKey, slot string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed && r.timers[slot] == nil {
		r.timers[slot] = time.AfterFunc(r.every, func() { r.fire(key, slot) })
	}
}

func (r *renewals) fire(key chatclient.QuotaKey, slot string) {
	r.mu.Lock()
	t := r.timers[slot]
	if t == nil { // stopped, or closed
		r.mu.Unlock()
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	alive := r.renew(key, slot)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timers[slot] == t { // not stopped meanwhile
		if alive {
			t.Reset(r.every)
		} else {
			delete(r.timers, slot)
		}
	}
}

// stop ends slot's renewals.
func (r *renewals) stop(slot string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.timers[slot]; t != nil {
		t.Stop()
		delete(r.timers, slot)
	}
}

// close ends every renewal and waits for those under way.
func (r *renewals) close() {
	r.mu.Lock()
	r.closed = true
	for _, t := range r.timers {
		t.Stop()
	}
	clear(r.timers)
	r.mu.Unlock()
	r.wg.Wait()
}
