package inbox

import (
	"context"
	"errors"
)

// Leases is what a [Store] shared by a fleet of processes offers so that they do not
// trip over each other: a chat handled by one process at a time, and one sweeper at a
// time per business. An inbox whose store implements it takes a chat's lease before
// handling the chat and the sweep's lease before sweeping; a process that dies loses
// its leases when they expire. Stores for one process need not implement it.
type Leases interface {
	// LeaseChat takes the chat for this process until release is called (the store
	// keeps the lease alive meanwhile). ok is false, with no error, when another
	// process holds it.
	LeaseChat(ctx context.Context, businessID, chatID int64) (release func(), ok bool, err error)
	// LeaseSweep takes the business's sweep for this process until release is
	// called; ok is false when another process sweeps.
	LeaseSweep(ctx context.Context, businessID int64) (release func(), ok bool, err error)
}

// errLeased is why a chat is put back: another process handles it now.
var errLeased = errors.New("inbox: another process handles the chat")

// leaseChat takes a chat's lease if the store deals in them; release is never nil.
func (ib *Inbox) leaseChat(ctx context.Context, chatID int64) (func(), error) {
	l, ok := ib.store.(Leases)
	if !ok {
		return func() {}, nil
	}
	release, held, err := l.LeaseChat(ctx, ib.business, chatID)
	if err != nil {
		return nil, err
	}
	if !held {
		return nil, errLeased
	}
	return release, nil
}

// leaseSweep takes the business's sweep if the store deals in leases; ok is false
// when another process sweeps.
func (ib *Inbox) leaseSweep(ctx context.Context) (release func(), ok bool, err error) {
	l, is := ib.store.(Leases)
	if !is {
		return func() {}, true, nil
	}
	return l.LeaseSweep(ctx, ib.business)
}
