package chattest

import (
	"cmp"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"slices"

	"github.com/ymchat/ymchat/api"
)

// ListingOrder is the order getChats lists a business's chats in. The Market states
// none, so code that relies on one breaks on the real thing; these orders let a test
// prove it does not.
type ListingOrder int

const (
	// ByID lists chats in chat id order, with cursor tokens: a chat created while a
	// caller pages shows up on a later page and none is skipped or repeated. The default.
	ByID ListingOrder = iota
	// ByUpdatedAt lists the most recently updated chats first (ties by id), with
	// offset tokens: a chat that gains a message while a caller pages jumps to the
	// front, so the caller may miss another chat on this pass or see one twice.
	ByUpdatedAt
	// Shuffled lists chats in an order fixed by the seed and the chat ids (not by id),
	// with offset tokens: a chat created while a caller pages may land on a page
	// already handed out.
	Shuffled
)

// listingOrder is the order a store lists chats in, with the seed of Shuffled.
type listingOrder struct {
	order ListingOrder
	seed  uint64
}

// WithListingOrder sets the order getChats lists chats in; seed matters for Shuffled
// only. Default: ByID.
func WithListingOrder(order ListingOrder, seed uint64) Option {
	return func(s *Server) error {
		if order < ByID || order > Shuffled {
			return errors.New("chattest: unknown listing order")
		}
		s.store.order = listingOrder{order: order, seed: seed}
		return nil
	}
}

// OnChatsPage calls fn(businessID) as each getChats request arrives, before its page
// is put together, so that a test can change chats while a caller pages (write a
// message, move a status). fn runs on the request's goroutine and may call the
// Server's methods; nil removes it.
func (s *Server) OnChatsPage(fn func(businessID int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatsPageHook = fn
}

// chatsPage runs the hook of OnChatsPage, if any.
func (s *Server) chatsPage(businessID int64) {
	s.mu.Lock()
	fn := s.chatsPageHook
	s.mu.Unlock()
	if fn != nil {
		fn(businessID)
	}
}

// listByOffset returns up to limit of the chats that match f, in the store's order,
// from position offset, and whether more follow; s.mu must be held.
func (s *store) listByOffsetLocked(b *business, f api.GetChatsRequest, offset int64, limit int) ([]api.Chat, bool) {
	all := []api.Chat{}
	for _, c := range b.chats {
		if matches(c, f) {
			all = append(all, c)
		}
	}
	switch s.order.order {
	case ByUpdatedAt:
		slices.SortStableFunc(all, func(x, y api.Chat) int {
			if c := y.UpdatedAt.Compare(x.UpdatedAt); c != 0 {
				return c
			}
			return cmp.Compare(x.ChatID, y.ChatID)
		})
	case Shuffled:
		slices.SortStableFunc(all, func(x, y api.Chat) int {
			return cmp.Or(cmp.Compare(s.order.rank(x.ChatID), s.order.rank(y.ChatID)), cmp.Compare(x.ChatID, y.ChatID))
		})
	}
	if offset >= int64(len(all)) {
		return []api.Chat{}, false
	}
	end := min(int(offset)+limit, len(all))
	return all[offset:end], end < len(all)
}

// rank is a chat's place in the Shuffled order: a hash of the seed and the id.
func (o listingOrder) rank(chatID int64) uint64 {
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], o.seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(chatID))
	h.Write(b[:])
	return h.Sum64()
}
