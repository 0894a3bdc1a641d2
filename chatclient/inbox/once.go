package inbox

import (
	"context"
	"errors"
	"sync"
)

// onceAttempts is how many times [Inbox.Once] tries a chat whose handler or read
// fails, with the backoff between, before it leaves the chat to the next pass.
const onceAttempts = 3

// Report says what one pass of [Inbox.Once] did.
type Report struct {
	// Swept is false when another process of a fleet was sweeping the business: the
	// pass then handled only the chats pushes had marked.
	Swept bool
	// Chats is how many chats the sweep listed.
	Chats int
	// Handled is how many chats were brought up to date.
	Handled int
	// Events is how many events the handler took.
	Events int
	// Elsewhere is how many chats another process of a fleet was handling; it hands
	// them over.
	Elsewhere int
	// HeldBack holds the chats that still failed after a few tries, or that the
	// pass did not reach before ctx ended, each with its last error (the handler's,
	// a read's, or ctx's). Each chat's cursor stops at the last event handed over,
	// so the next pass goes on from there.
	HeldBack map[int64]error
}

// Once makes one pass, for a job run from cron: it sweeps (unless another process of
// a fleet sweeps the business now), handles every chat the sweep or an earlier push
// queued, and returns what it did once no chat is left. A chat that fails is tried a
// few times with the backoff, then left in [Report.HeldBack]. The error is the
// sweep's (the chats it queued before failing are handled all the same) or ctx's.
// Once and [Inbox.Run] do not run at the same time.
func (ib *Inbox) Once(ctx context.Context) (Report, error) {
	if !ib.running.CompareAndSwap(false, true) {
		return Report{}, errors.New("inbox: Run or Once is running already")
	}
	defer ib.running.Store(false)
	startEvents := ib.events.Load()
	var rep Report
	release, swept, err := ib.leaseSweep(ctx)
	if err == nil {
		ib.elsewhere.Store(!swept)
	}
	switch {
	case err != nil:
	case swept:
		err = ib.Sweep(ctx)
		release()
		if rep.Swept = err == nil; rep.Swept {
			_, rep.Chats = ib.LastSweep()
		}
	default:
		err = ib.queueDirty(ctx)
	}

	var mu sync.Mutex
	tries := map[int64]int{}
	handled, elsewhere := map[int64]bool{}, map[int64]bool{}
	rep.HeldBack = map[int64]error{}
	var wg sync.WaitGroup
	for range ib.cfg.workers {
		wg.Go(func() {
			for {
				id, j, ok := ib.q.take(ctx, true)
				if !ok {
					return
				}
				herr := ib.handleChat(ctx, id, j)
				mu.Lock()
				tries[id]++
				switch {
				case herr == nil:
					handled[id] = true
					delete(rep.HeldBack, id)
				case errors.Is(herr, errLeased):
					elsewhere[id] = true
					herr = nil // not ours to retry
				case ctx.Err() != nil || tries[id] >= onceAttempts:
					rep.HeldBack[id] = herr
					herr = nil // left to the next pass
				}
				mu.Unlock()
				ib.q.done(id, j, herr)
			}
		})
	}
	wg.Wait()
	// Chats still queued are those ctx cut off.
	for _, id := range ib.q.clear() {
		if _, ok := rep.HeldBack[id]; !ok {
			rep.HeldBack[id] = ctx.Err()
		}
	}
	rep.Handled, rep.Elsewhere = len(handled), len(elsewhere)
	rep.Events = int(ib.events.Load() - startEvents)
	if err == nil {
		err = ctx.Err()
	}
	return rep, err
}
