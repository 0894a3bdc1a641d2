package chattest

import (
	"errors"
	"math/rand/v2"
	"sync"
)

// pushFaults is how the fake breaks the promise of its notifications on purpose:
// some are never sent, and the receiver may be unreachable for a while.
type pushFaults struct {
	mu   sync.Mutex
	rate float64    // the share of notifications never sent
	rng  *rand.Rand // draws the dropped ones, reproducibly
	down bool       // every delivery attempt fails as if the receiver did not answer
	lost int        // how many were dropped
}

// WithPushDropRate makes a share rate (0 to 1) of the chat notifications never sent at
// all, reproducibly for a given seed, as when the Market loses one. PINGs are always
// sent. [Server.Events] still holds what happened.
func WithPushDropRate(rate float64, seed uint64) Option {
	return func(s *Server) error {
		if rate < 0 || rate > 1 {
			return errors.New("chattest: push drop rate must be between 0 and 1")
		}
		s.notes.faults.mu.Lock()
		defer s.notes.faults.mu.Unlock()
		s.notes.faults.rate = rate
		s.notes.faults.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		return nil
	}
}

// SetReceiverDown makes every delivery attempt fail (recorded in [Server.Deliveries]
// with Status 0 and an Err) while down is true, as when the receiver is unreachable:
// the notifications wait and are retried on the delivery schedule, in order, once it
// is up again (unless the schedule gives them up first).
func (s *Server) SetReceiverDown(down bool) {
	s.notes.faults.mu.Lock()
	defer s.notes.faults.mu.Unlock()
	s.notes.faults.down = down
}

// drop reports whether the next notification is never sent.
func (f *pushFaults) drop() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng != nil && f.rate > 0 && f.rng.Float64() < f.rate {
		f.lost++
		return true
	}
	return false
}

// DroppedPushes returns how many notifications [WithPushDropRate] dropped so far.
func (s *Server) DroppedPushes() int {
	s.notes.faults.mu.Lock()
	defer s.notes.faults.mu.Unlock()
	return s.notes.faults.lost
}

// isDown reports whether the receiver is unreachable now.
func (f *pushFaults) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

// errReceiverDown is the failure of an attempt while the receiver is down.
var errReceiverDown = errors.New("chattest: the receiver is down (SetReceiverDown)")
