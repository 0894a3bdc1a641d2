package inbox

import (
	"context"

	"github.com/ymchat/ymchat/chatclient"
)

// syncChat hands over what is new in one chat: the chat itself if it is new, then
// its messages after the cursor, then its status and its dispute, saving the state
// after each event the handler took.
func (ib *Inbox) syncChat(ctx context.Context, chatID int64, j job) error {
	st, err := ib.store.Load(ctx, ib.business, chatID)
	if err != nil {
		return err
	}
	st.ChatID = chatID
	dirty := st.Dirty
	if j.obs == nil && (j.wantChat || !st.Known) {
		at := ib.cfg.clock.Now()
		c, err := ib.client.GetChat(ctx, ib.business, chatID)
		if err != nil {
			return err
		}
		j.obs, j.obsAt = &c, at
	}
	// A sighting older than the one the state holds must not take the status back.
	obs := j.obs
	if obs != nil && st.Known && j.obsAt.Before(st.ObservedAt) {
		obs = nil
	}
	if !st.Known {
		if err := ib.emit(ctx, &st, Event{Kind: ChatCreated, Chat: *obs}, func(s *ChatState) {
			s.Known, s.Status, s.Arbitration, s.ObservedAt = true, obs.Status, disputed(*obs), j.obsAt
		}); err != nil {
			return err
		}
	}
	if ib.needsRead(st, obs) {
		if err := ib.readHistory(ctx, &st, obs, dirty); err != nil {
			return err
		}
	}
	if obs == nil {
		return nil
	}
	if obs.Status != st.Status {
		old := st.Status
		if err := ib.emit(ctx, &st, Event{Kind: StatusChanged, Chat: *obs, OldStatus: old}, func(s *ChatState) {
			s.Status, s.ObservedAt = obs.Status, j.obsAt
		}); err != nil {
			return err
		}
	}
	if open := disputed(*obs); open != st.Arbitration {
		kind := ArbitrationStarted
		if !open {
			kind = ArbitrationFinished
		}
		if err := ib.emit(ctx, &st, Event{Kind: kind, Chat: *obs}, func(s *ChatState) { s.Arbitration = open }); err != nil {
			return err
		}
	}
	if j.obsAt.After(st.ObservedAt) {
		st.ObservedAt = j.obsAt
		return ib.save(ctx, st)
	}
	return nil
}

// disputed reports whether a chat has an open dispute.
func disputed(c chatclient.Chat) bool {
	return c.Status == chatclient.StatusWaitingForArbiter ||
		(c.Type == chatclient.TypeArbitrage && c.Status != chatclient.StatusFinished)
}

// needsRead reports whether the chat's history may hold messages the inbox has not
// handed over: a push said so, the chat is unseen by a sweep, or its updatedAt is new
// or too close to the last read to tell.
func (ib *Inbox) needsRead(st ChatState, obs *chatclient.Chat) bool {
	if obs == nil || st.IsDirty() || st.ReadAt.IsZero() {
		return true
	}
	return obs.UpdatedAt.After(st.UpdatedAt) || !obs.UpdatedAt.Before(st.ReadAt.Add(-ib.cfg.margin))
}

// readHistory hands over the chat's messages after the cursor, to the end. The
// Market reads "from messageIdFrom", which may include the cursor's own message, so
// ids at or below the cursor are skipped.
func (ib *Inbox) readHistory(ctx context.Context, st *ChatState, obs *chatclient.Chat, dirty uint64) error {
	began := ib.cfg.clock.Now()
	ib.reads.Add(1)
	last := st.UpdatedAt
	for m, err := range ib.client.Messages(ctx, ib.business, st.ChatID, st.LastMessageID) {
		if err != nil {
			return err
		}
		if m.ID <= st.LastMessageID {
			continue
		}
		if err := ib.emit(ctx, st, Event{Kind: NewMessage, Chat: chatclient.Chat{ID: st.ChatID}, Message: m}, func(s *ChatState) {
			s.LastMessageID = m.ID
		}); err != nil {
			return err
		}
		if m.CreatedAt.After(last) {
			last = m.CreatedAt
		}
	}
	if obs != nil && obs.UpdatedAt.After(last) {
		last = obs.UpdatedAt
	}
	// When the read began on the Market's clock: its time now, as the Date of the
	// answers just read tells (never ahead of it), less the time the read took. Taken
	// before the first answer it would be the local clock, which may run ahead.
	readAt := ib.client.MarketTime().Add(-ib.cfg.clock.Now().Sub(began))
	st.UpdatedAt, st.ReadAt, st.Clean = last, readAt, dirty
	return ib.save(ctx, *st)
}

// emit hands one event to the handler and, once it succeeded, applies advance to the
// state and saves it. The save is not cancelled with ctx: an event handled must not
// be handed again because the inbox was stopping.
func (ib *Inbox) emit(ctx context.Context, st *ChatState, e Event, advance func(*ChatState)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.BusinessID, e.ChatID = ib.business, st.ChatID
	if err := ib.handle(ctx, e); err != nil {
		return err
	}
	ib.events.Add(1)
	advance(st)
	return ib.save(ctx, *st)
}

func (ib *Inbox) save(ctx context.Context, st ChatState) error {
	return ib.store.Save(context.WithoutCancel(ctx), ib.business, st)
}
