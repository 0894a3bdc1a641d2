package chatclient

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"
	"unicode"
)

// SendMemory is how long a client remembers its own sends (at most 10,000 of
// them), so that a message in a chat's history that an earlier identical send could
// explain is not taken for a later one's.
const SendMemory = time.Hour

// sendLogCap bounds the sends a client remembers: about 100 bytes each.
const sendLogCap = 10_000

// sendLog is the client's memory of its recent sends, in the order they began.
type sendLog struct {
	seed maphash.Seed
	mu   sync.Mutex
	recs []*sendRecord
}

// sendRecord is one send: which chat, a digest of what it sent, and, on the client's
// clock (the Market's is learnt from answers, and may be learnt only after the send),
// when it began, when its last attempt ended and the latest it may land.
type sendRecord struct {
	business, chat int64
	what           uint64
	from           time.Time
	ended, until   time.Time // zero while it is in flight
}

func newSendLog() *sendLog { return &sendLog{seed: maphash.MakeSeed()} }

func (l *sendLog) digest(s sent) uint64 {
	var h maphash.Hash
	h.SetSeed(l.seed)
	if s.file == "" {
		h.WriteString("text\x00")
		h.WriteString(s.text)
	} else {
		h.WriteString("file\x00")
		h.WriteString(foldName(s.file))
		h.WriteByte(0)
		for v := s.size; v > 0; v >>= 8 {
			h.WriteByte(byte(v))
		}
	}
	return h.Sum64()
}

// begin notes a send that begins at from and returns its record.
func (l *sendLog) begin(business, chat int64, s sent, from time.Time) *sendRecord {
	r := &sendRecord{business: business, chat: chat, what: l.digest(s), from: from}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(from)
	l.recs = append(l.recs, r)
	return r
}

// end notes when the send's last attempt ended and the latest it may land.
func (l *sendLog) end(r *sendRecord, ended, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.ended, r.until = ended, until
}

// drop forgets a send that certainly put nothing into the chat.
func (l *sendLog) drop(r *sendRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.recs {
		if x == r {
			l.recs = append(l.recs[:i], l.recs[i+1:]...)
			return
		}
	}
}

// explains reports whether a send other than self, of s to the chat, could have
// written a message at t, a time on the Market's clock (toMarket converts the log's).
func (l *sendLog) explains(business, chat int64, s sent, t time.Time, self *sendRecord, toMarket func(time.Time) time.Time) bool {
	what := l.digest(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if r == self || r.business != business || r.chat != chat || r.what != what {
			continue
		}
		if !t.Before(toMarket(r.from).Add(-clockSlack)) && (r.until.IsZero() || !t.After(toMarket(r.until).Add(clockSlack))) {
			return true
		}
	}
	return false
}

// prune forgets the sends that ended longer than SendMemory before now, and the oldest
// beyond sendLogCap.
func (l *sendLog) prune(now time.Time) {
	n := 0
	for n < len(l.recs) && (len(l.recs)-n >= sendLogCap ||
		(!l.recs[n].until.IsZero() && now.Sub(l.recs[n].until) > SendMemory)) {
		n++
	}
	if n > 0 {
		l.recs = append(l.recs[:0], l.recs[n:]...)
	}
}

// clockSlack widens the window in which a sent message may show in the history: the
// Market's clock is known to about a second (its Date header is truncated to the
// second), and a message's time may be truncated too.
const clockSlack = 2 * time.Second

// sent is what a send puts into a chat: a text, or a file of a name and a size.
type sent struct {
	text string
	file string
	size int64
}

// foldName is a file name as compared with the history: lower case, without white
// space or underscores.
func foldName(name string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' {
			return -1
		}
		return unicode.ToLower(r)
	}, name)
}
