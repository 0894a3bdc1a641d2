package inbox

import (
	"context"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// Sweep is the safety net under the pushes, which may be lost, late, or never sent
// (stickers, status changes). It queues the chats pushes marked (before a restart
// too), then lists every chat of the business to the last page — with no filter, as
// a FINISHED chat can gain messages — and queues each one whose status, dispute or
// updatedAt differs from the store, or that it has never handed over. It does not
// depend on the listing's order; a chat that changes while it pages is listed once
// (the client drops repeats) or, if the Market's paging misses it, found by the next
// sweep. It returns once the listing is done; [Inbox.Run]'s workers handle the
// chats. Sweep itself takes no lease ([Leases]); the sweeps Run makes do.
func (ib *Inbox) Sweep(ctx context.Context) error {
	if err := ib.queueDirty(ctx); err != nil {
		return err
	}
	n := 0
	for c, err := range ib.client.Chats(ctx, ib.business, chatclient.Filter{}) {
		if err != nil {
			return err
		}
		at := ib.cfg.clock.Now()
		n++
		st, err := ib.store.Load(ctx, ib.business, c.ID)
		if err != nil {
			return err
		}
		if ib.changed(st, c) {
			ib.q.add(c.ID, job{obs: &c, obsAt: at})
		}
	}
	ib.mu.Lock()
	ib.chats, ib.swept = n, ib.cfg.clock.Now()
	ib.mu.Unlock()
	return nil
}

// queueDirty queues the chats pushes marked and nobody has read since.
func (ib *Inbox) queueDirty(ctx context.Context) error {
	dirty, err := ib.store.Dirty(ctx, ib.business)
	if err != nil {
		return err
	}
	for _, id := range dirty {
		ib.q.add(id, job{})
	}
	return nil
}

// LastSweep returns when the last complete sweep ended (zero before the first) and
// how many chats it listed: a health check can tell from it that the safety net
// works.
func (ib *Inbox) LastSweep() (at time.Time, chats int) {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	return ib.swept, ib.chats
}

// changed reports whether a listed chat needs a look.
func (ib *Inbox) changed(st ChatState, c chatclient.Chat) bool {
	return !st.Known || st.Status != c.Status || st.Arbitration != disputed(c) || ib.needsRead(st, &c)
}
