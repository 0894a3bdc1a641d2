package chattest

import (
	"cmp"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ymchat/ymchat/api"
)

// MaxFileSize is the largest file sendFileToChat takes: the x-max-file-size of the
// spec's file part, 5 MiB.
const MaxFileSize = 5 << 20

// DefaultHistoryPageSize is how many messages a getChatHistory page holds when the
// request gives no limit (the spec's default); at most 100 may be asked for.
const DefaultHistoryPageSize = 50

// Conversation is the messages of one chat of a [Fixture].
type Conversation struct {
	// ChatID is the chat, one of the business's chats.
	ChatID int64 `json:"chatId"`
	// Messages are the chat's messages, oldest first, with ids that increase and are
	// unique in the business. A payload URL of the form "/files/<id>/<name>" is a file
	// on the fake's own server: the Server answers it with <Server.URL> in front and
	// serves Size bytes of made-up content for it.
	Messages []api.ChatMessage `json:"messages"`
	// Generate appends this many made-up messages after Messages when the fixture is
	// loaded, deterministically: customer and partner take turns (the customer first),
	// in several languages, spread evenly up to the chat's updatedAt, with the next
	// message ids of the business.
	Generate int `json:"generate,omitempty"`
}

// storedFile is a file served under /files/<id>/<name>.
type storedFile struct {
	name, contentType string
	data              []byte
}

// filePath is where the fake serves a file: /files/<id>/<escaped name>.
func filePath(id, name string) string { return "/files/" + id + "/" + url.PathEscape(name) }

// parseFilePath splits /files/<id>/<name> (name unescaped by the caller's URL).
func parseFilePath(p string) (id, name string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/files/")
	if !ok {
		return "", "", false
	}
	id, name, ok = strings.Cut(rest, "/")
	return id, name, ok && id != "" && name != ""
}

// contentTypeOf guesses a fixture file's type from its extension, with a fixed table
// so the answer does not depend on the system's MIME database.
func contentTypeOf(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".pdf":
		return "application/pdf"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// madeUpContent is size deterministic bytes for a fixture file.
func madeUpContent(name string, size int) []byte {
	seed := "chattest fixture file " + name + "\n"
	out := make([]byte, size)
	for i := range out {
		out[i] = seed[i%len(seed)]
	}
	return out
}

// addConversationLocked loads one conversation of a fixture.
func (s *store) addConversationLocked(businessID int64, c Conversation) error {
	b := s.business(businessID)
	i, ok := b.find(c.ChatID)
	if !ok {
		return fmt.Errorf("chattest: fixture: conversation of chat %d, which business %d does not have", c.ChatID, businessID)
	}
	if len(b.msgs[c.ChatID]) > 0 {
		return fmt.Errorf("chattest: fixture: chat %d has two conversations", c.ChatID)
	}
	if c.Generate < 0 {
		return fmt.Errorf("chattest: fixture: chat %d: generate %d must not be negative", c.ChatID, c.Generate)
	}
	var last int64
	msgs := make([]api.ChatMessage, 0, len(c.Messages)+c.Generate)
	for _, m := range c.Messages {
		if m.MessageID <= last {
			return fmt.Errorf("chattest: fixture: chat %d: message ids must increase (%d after %d)", c.ChatID, m.MessageID, last)
		}
		if b.msgIDs[m.MessageID] {
			return fmt.Errorf("chattest: fixture: message %d exists already in business %d", m.MessageID, businessID)
		}
		for _, p := range m.Payload {
			if id, name, ok := parseFilePath(p.URL); ok {
				if _, dup := s.files[id]; dup {
					return fmt.Errorf("chattest: fixture: file %s exists already", id)
				}
				uname, err := url.PathUnescape(name)
				if err != nil {
					return fmt.Errorf("chattest: fixture: file URL %q: %w", p.URL, err)
				}
				s.files[id] = storedFile{name: uname, contentType: contentTypeOf(uname), data: madeUpContent(uname, int(p.Size))}
			}
		}
		last = m.MessageID
		b.msgIDs[m.MessageID] = true
		b.nextMsg = max(b.nextMsg, m.MessageID+1)
		msgs = append(msgs, m)
	}
	if c.Generate > 0 {
		chat := b.chats[i]
		from := chat.CreatedAt
		if len(msgs) > 0 {
			from = msgs[len(msgs)-1].CreatedAt
		}
		step := chat.UpdatedAt.Sub(from) / time.Duration(c.Generate)
		step = max(step.Truncate(time.Second), time.Second)
		at := chat.UpdatedAt.Add(-step * time.Duration(c.Generate-1))
		if !at.After(from) {
			at = from.Add(step)
		}
		for k := range c.Generate {
			id := max(b.nextMsg, 1)
			b.nextMsg = id + 1
			b.msgIDs[id] = true
			sender, text := generated(k)
			msgs = append(msgs, api.ChatMessage{MessageID: id, CreatedAt: at, Sender: sender, Message: text})
			at = at.Add(step)
		}
		last := msgs[len(msgs)-1]
		if last.CreatedAt.After(chat.UpdatedAt) {
			b.chats[i].UpdatedAt = last.CreatedAt
		} else {
			b.chats[i].UpdatedAt = chat.UpdatedAt
		}
	}
	b.msgs[c.ChatID] = msgs
	for _, m := range msgs {
		s.recordLocked(Event{Kind: EventMessageWritten, BusinessID: businessID, ChatID: c.ChatID, MessageID: m.MessageID, Sender: m.Sender, At: m.CreatedAt})
	}
	return nil
}

// generatedTexts are the made-up lines of a long history, in turn.
var generatedTexts = []string{
	"Здравствуйте! Подскажите, пожалуйста, где сейчас мой заказ? (%d)",
	"Hello, could you check the delivery date once more? (%d)",
	"您好，请问什么时候发货？(%d)",
	"Сәлеметсіз бе! Тапсырысым қашан келеді? (%d)",
	"Добрый день! Заказ передан в службу доставки, номер сообщения %d.",
	"Thank you for waiting — message %d of our reply.",
}

// generated is the k-th made-up message of a long history (k from 0).
func generated(k int) (api.ChatMessageSender, string) {
	sender := api.ChatMessageSenderCustomer
	if k%2 == 1 {
		sender = api.ChatMessageSenderPartner
	}
	return sender, fmt.Sprintf(generatedTexts[k%len(generatedTexts)], k+1)
}

// chatLocked finds a chat of a business; s.mu must be held.
func (s *store) chatLocked(businessID, chatID int64) (*business, int, bool) {
	b := s.biz[businessID]
	if b == nil {
		return nil, 0, false
	}
	i, ok := b.find(chatID)
	return b, i, ok
}

func chatNotFound(businessID, chatID int64) errNotFound {
	return errNotFound{fmt.Sprintf("chat %d not found in business %d", chatID, businessID)}
}

// history returns the chat and up to limit of its messages with ids at least from and
// greater than after, oldest first, and whether more follow.
func (s *store) history(businessID, chatID, from, after int64, limit int) (api.Chat, []api.ChatMessage, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, i, ok := s.chatLocked(businessID, chatID)
	if !ok {
		return api.Chat{}, nil, false, chatNotFound(businessID, chatID)
	}
	msgs := b.msgs[chatID]
	lo := max(from, after+1)
	j := sort.Search(len(msgs), func(j int) bool { return msgs[j].MessageID >= lo })
	end := min(j+limit, len(msgs))
	out := make([]api.ChatMessage, end-j)
	copy(out, msgs[j:end])
	return b.chats[i], out, end < len(msgs), nil
}

// message returns one message of a chat.
func (s *store) message(businessID, chatID, messageID int64) (api.ChatMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _, ok := s.chatLocked(businessID, chatID)
	if !ok {
		return api.ChatMessage{}, chatNotFound(businessID, chatID)
	}
	msgs := b.msgs[chatID]
	j, found := sort.Find(len(msgs), func(j int) int { return cmp.Compare(messageID, msgs[j].MessageID) })
	if !found {
		return api.ChatMessage{}, errNotFound{fmt.Sprintf("message %d not found in chat %d", messageID, chatID)}
	}
	return msgs[j], nil
}

// messages returns a copy of a chat's messages, nil when there is no such chat.
func (s *store) messages(businessID, chatID int64) []api.ChatMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _, ok := s.chatLocked(businessID, chatID)
	if !ok {
		return nil
	}
	return append([]api.ChatMessage{}, b.msgs[chatID]...)
}

// write appends a message to a chat, moves the chat to status and its updatedAt to
// the message's time, and returns the message.
func (s *store) write(businessID, chatID int64, sender api.ChatMessageSender, text string, payload []api.ChatMessagePayload, status api.ChatStatus, now time.Time) (api.ChatMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, i, ok := s.chatLocked(businessID, chatID)
	if !ok {
		return api.ChatMessage{}, chatNotFound(businessID, chatID)
	}
	id := max(b.nextMsg, 1)
	b.nextMsg = id + 1
	b.msgIDs[id] = true
	now = now.Truncate(time.Second)
	if now.Before(b.chats[i].UpdatedAt) { // a clock behind the fixture: keep time moving forward
		now = b.chats[i].UpdatedAt
	}
	m := api.ChatMessage{MessageID: id, CreatedAt: now, Sender: sender, Message: text, Payload: payload}
	b.msgs[chatID] = append(b.msgs[chatID], m)
	b.chats[i].UpdatedAt = now
	s.recordLocked(Event{Kind: EventMessageWritten, BusinessID: businessID, ChatID: chatID, MessageID: id, Sender: sender, At: now})
	s.setStatusLocked(businessID, b, i, status, now)
	return m, nil
}

// setChat changes a chat's status and, when typ is not empty, its type, at the time
// at (for the event log). Its updatedAt stays: it is the time of its last message.
func (s *store) setChat(businessID, chatID int64, status api.ChatStatus, typ api.ChatType, at time.Time) (api.Chat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, i, ok := s.chatLocked(businessID, chatID)
	if !ok {
		return api.Chat{}, chatNotFound(businessID, chatID)
	}
	s.setStatusLocked(businessID, b, i, status, at.Truncate(time.Second))
	if typ != "" {
		b.chats[i].Type = typ
	}
	return b.chats[i], nil
}

// setStatusLocked moves chat i of b to status, when not empty, and records the change;
// s.mu must be held.
func (s *store) setStatusLocked(businessID int64, b *business, i int, status api.ChatStatus, now time.Time) {
	old := b.chats[i].Status
	if status == "" || status == old {
		return
	}
	b.chats[i].Status = status
	s.recordLocked(Event{Kind: EventStatusChanged, BusinessID: businessID, ChatID: b.chats[i].ChatID, OldStatus: old, Status: status, At: now})
}

// addFile stores an uploaded file and returns the path it is served under.
func (s *store) addFile(name, contentType string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextFile++
	id := "u" + strconv.Itoa(s.nextFile)
	s.files[id] = storedFile{name: name, contentType: contentType, data: data}
	return filePath(id, name)
}

func (s *store) file(id string) (storedFile, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	return f, ok
}
