package notify

import (
	"crypto/sha256"
	"io"
	"strconv"
	"sync"
	"time"
)

// digest identifies one event: the first 16 bytes of the SHA-256 of its key. A
// fixed size keeps the memory of the de-duplication set proportional to its count,
// whatever the size of the ids the Market sends. Two events with the same digest
// would make the second one look like a repeat and be dropped; at 128 bits the
// chance of that among a million remembered events is below 10^-26.
type digest [16]byte

// dedup recognises repeats: events handled successfully (the last limit of them) and
// events whose function is running now. A repeat of a running event waits for that
// run's outcome instead of running beside it. One mutex guards both, so that an
// event is always found in one or the other while it is running or remembered.
type dedup struct {
	mu      sync.Mutex
	limit   int
	seen    map[digest]struct{}
	ring    []digest // the remembered digests, oldest at next once full
	next    int
	running map[digest]*flight
}

// flight is one run of the user's function; done is closed when err is set.
type flight struct {
	done chan struct{}
	err  error
}

func newFlight() *flight { return &flight{done: make(chan struct{})} }

// end publishes the outcome of the run to everybody waiting on done.
func (f *flight) end(err error) {
	f.err = err
	close(f.done)
}

// newDedup returns a set remembering up to n events, or nil when n is 0. Its memory
// grows as events are remembered, not up front.
func newDedup(n int) *dedup {
	if n <= 0 {
		return nil
	}
	return &dedup{limit: n, seen: map[digest]struct{}{}, running: map[digest]*flight{}}
}

// begin looks key up. It returns nil when the event was handled successfully
// already; the running flight and lead false when its function is running now;
// or a new flight and lead true when the caller is to run the function and then
// call finish.
func (d *dedup) begin(key digest) (f *flight, lead bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.seen[key]; ok {
		return nil, false
	}
	if f := d.running[key]; f != nil {
		return f, false
	}
	f = newFlight()
	d.running[key] = f
	return f, true
}

// finish ends the run begun for key: a success is remembered, whenever it comes,
// and the outcome goes to the runs waiting on f.
func (d *dedup) finish(key digest, f *flight, err error) {
	d.mu.Lock()
	delete(d.running, key)
	if err == nil {
		d.remember(key)
	}
	d.mu.Unlock()
	f.end(err)
}

// remember adds key, forgetting the oldest key when full. d.mu is held.
func (d *dedup) remember(key digest) {
	if _, ok := d.seen[key]; ok {
		return
	}
	if len(d.ring) < d.limit {
		if len(d.ring) == cap(d.ring) {
			// Grow as append would, but never past max, so that a full set holds no
			// spare capacity.
			ring := make([]digest, len(d.ring), min(max(2*cap(d.ring), 64), d.limit))
			copy(ring, d.ring)
			d.ring = ring
		}
		d.ring = append(d.ring, key)
	} else {
		delete(d.seen, d.ring[d.next])
		d.ring[d.next] = key
		d.next = (d.next + 1) % d.limit
	}
	d.seen[key] = struct{}{}
}

// dedupKey identifies the event n reports: the same event sent twice gives the same
// key, whatever the offset the times were written in.
func dedupKey(n Notification) digest {
	h := sha256.New()
	put := func(parts ...string) {
		for _, p := range parts {
			_, _ = io.WriteString(h, p) // a hash.Hash never fails
			_, _ = io.WriteString(h, "|")
		}
	}
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	switch v := n.(type) {
	case ChatCreated:
		put(TypeChatCreated, id(v.BusinessID), id(v.ChatID), at(v.CreatedAt))
	case ChatMessageSent:
		// The id is last, so a '|' inside it cannot shift the other parts.
		put(TypeChatMessageSent, id(v.BusinessID), id(v.ChatID), string(v.MessageID))
	case ChatArbitrageStarted:
		put(TypeChatArbitrageStarted, id(v.BusinessID), id(v.ChatID), at(v.StartedAt))
	case ChatArbitrageFinished:
		put(TypeChatArbitrageFinished, id(v.BusinessID), id(v.ChatID), at(v.FinishedAt))
	case Other:
		put(v.Type)
		_, _ = h.Write(v.Raw)
	}
	var d digest
	copy(d[:], h.Sum(nil))
	return d
}
