package notify

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"
)

// seenSet is a bounded LRU set of notification keys.
type seenSet struct {
	mu    sync.Mutex
	max   int
	order *list.List // of string, most recent first
	index map[string]*list.Element
}

func newSeenSet(n int) *seenSet {
	if n <= 0 {
		return nil
	}
	return &seenSet{max: n, order: list.New(), index: make(map[string]*list.Element, n)}
}

// contains reports whether key was added, refreshing it when so. A nil set holds
// nothing.
func (s *seenSet) contains(key string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.index[key]
	if ok {
		s.order.MoveToFront(e)
	}
	return ok
}

// add records key, evicting the least recently used key when full.
func (s *seenSet) add(key string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.index[key]; ok {
		s.order.MoveToFront(e)
		return
	}
	s.index[key] = s.order.PushFront(key)
	if s.order.Len() > s.max {
		last := s.order.Back()
		s.order.Remove(last)
		delete(s.index, last.Value.(string))
	}
}

// dedupKey identifies the event n reports: the same event sent twice gives the same
// key, whatever the offset the times were written in.
func dedupKey(n Notification) string {
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	ids := func(business, chat int64) string {
		return strconv.FormatInt(business, 10) + "|" + strconv.FormatInt(chat, 10)
	}
	switch v := n.(type) {
	case ChatCreated:
		return strings.Join([]string{TypeChatCreated, ids(v.BusinessID, v.ChatID), at(v.CreatedAt)}, "|")
	case ChatMessageSent:
		return strings.Join([]string{TypeChatMessageSent, ids(v.BusinessID, v.ChatID), string(v.MessageID)}, "|")
	case ChatArbitrageStarted:
		return strings.Join([]string{TypeChatArbitrageStarted, ids(v.BusinessID, v.ChatID), at(v.StartedAt)}, "|")
	case ChatArbitrageFinished:
		return strings.Join([]string{TypeChatArbitrageFinished, ids(v.BusinessID, v.ChatID), at(v.FinishedAt)}, "|")
	case Other:
		sum := sha256.Sum256(v.Raw)
		return v.Type + "|" + hex.EncodeToString(sum[:])
	default:
		return ""
	}
}
