package inbox

import (
	"context"
	"fmt"

	"github.com/ymchat/ymchat/chatclient/notify"
)

// NotifyOptions returns the options that make a notify.Handler the fast path of the
// given inboxes (one per business): a push marks its chat dirty in the inbox's store
// and wakes the chat, which is then read once from its cursor (one history read for
// however many pushes came, not a getChatMessage each). CHAT_CREATED and the
// dispute pushes also read the chat itself (getChat), to tell its status.
//
// The function returns nil — and the Market gets its 200 — only once the store has
// recorded the mark, so a push answered 200 is never lost: a crash before the chat
// is read leaves it dirty, and the next Run reads it. A store that fails answers 500,
// and the Market sends the push again. A push for a business none of the inboxes
// serves fails too, so a misrouted integration shows up in the seller's cabinet.
func NotifyOptions(inboxes ...*Inbox) []notify.Option {
	byBusiness := map[int64]*Inbox{}
	for _, ib := range inboxes {
		byBusiness[ib.business] = ib
	}
	wake := func(ctx context.Context, business, chat int64, wantChat bool) error {
		ib := byBusiness[business]
		if ib == nil {
			return fmt.Errorf("inbox: no inbox for business %d", business)
		}
		return ib.Wake(ctx, chat, wantChat)
	}
	return []notify.Option{
		notify.OnChatCreated(func(ctx context.Context, n notify.ChatCreated) error {
			return wake(ctx, n.BusinessID, n.ChatID, true)
		}),
		notify.OnChatMessageSent(func(ctx context.Context, n notify.ChatMessageSent) error {
			return wake(ctx, n.BusinessID, n.ChatID, false)
		}),
		notify.OnChatArbitrageStarted(func(ctx context.Context, n notify.ChatArbitrageStarted) error {
			return wake(ctx, n.BusinessID, n.ChatID, true)
		}),
		notify.OnChatArbitrageFinished(func(ctx context.Context, n notify.ChatArbitrageFinished) error {
			return wake(ctx, n.BusinessID, n.ChatID, true)
		}),
	}
}

// Wake says a chat has news, as a push does: it marks the chat dirty in the store
// and, once that is recorded, queues it (a running [Inbox.Run] reads it at once).
// withChat also reads the chat itself, to tell its status.
func (ib *Inbox) Wake(ctx context.Context, chatID int64, withChat bool) error {
	if err := ib.store.MarkDirty(ctx, ib.business, chatID); err != nil {
		return err
	}
	ib.q.add(chatID, job{wantChat: withChat})
	return nil
}
