// Package redisstore is an [inbox.Store] in Redis, for a fleet of processes serving
// the same businesses: the state of every chat, shared, and the leases that keep one
// process on a chat at a time and one sweeper per business ([inbox.Leases]). A
// process that dies loses its leases within [DefaultLeaseTTL].
//
// A lease lives while its holder renews it. A holder cut off from Redis for longer
// than the TTL loses it while it may still be handling the chat, and another process
// may then handle the same events: delivery stays at least once, and the cursor in
// Redis keeps an idempotent handler exact.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient/inbox"
)

// DefaultLeaseTTL is how long a lease lives without renewal: how soon the chats of a
// process that died are handled by another. Leases are renewed every third of it.
const DefaultLeaseTTL = 3 * time.Second

// Store is an [inbox.Store] and [inbox.Leases] in Redis. Keys start with the prefix:
// <prefix>chat:<business>:<chat> (a hash: the state, the dirty count),
// <prefix>dirty:<business> (a set of the dirty chats) and <prefix>lease:... .
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

var (
	_ inbox.Store  = (*Store)(nil)
	_ inbox.Leases = (*Store)(nil)
)

// New returns a store in rdb under keys that start with prefix (e.g. "ymchat:inbox:"),
// with leases that live ttl without renewal (0: [DefaultLeaseTTL]).
func New(rdb redis.UniversalClient, prefix string, ttl time.Duration) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: client must not be nil")
	}
	if ttl == 0 {
		ttl = DefaultLeaseTTL
	}
	if ttl < 30*time.Millisecond {
		return nil, errors.New("redisstore: lease TTL must be at least 30ms")
	}
	return &Store{rdb: rdb, prefix: prefix, ttl: ttl}, nil
}

func (s *Store) chatKey(business, chat int64) string {
	return s.prefix + "chat:" + strconv.FormatInt(business, 10) + ":" + strconv.FormatInt(chat, 10)
}

func (s *Store) dirtyKey(business int64) string {
	return s.prefix + "dirty:" + strconv.FormatInt(business, 10)
}

// Load implements [inbox.Store].
func (s *Store) Load(ctx context.Context, businessID, chatID int64) (inbox.ChatState, error) {
	v, err := s.rdb.HMGet(ctx, s.chatKey(businessID, chatID), "s", "d").Result()
	st := inbox.ChatState{}
	if err != nil {
		return st, err
	}
	if raw, ok := v[0].(string); ok {
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return st, errors.New("redisstore: chat " + strconv.FormatInt(chatID, 10) + ": " + err.Error())
		}
	}
	st.Dirty = 0
	if d, ok := v[1].(string); ok {
		st.Dirty, _ = strconv.ParseUint(d, 10, 64)
	}
	st.ChatID = chatID
	return st, nil
}

// save writes the state and drops the chat from the dirty set when no push came
// since its read began, atomically, so a push recorded meanwhile is never lost.
var save = redis.NewScript(`
redis.call('HSET', KEYS[1], 's', ARGV[1], 'c', ARGV[2])
local d = tonumber(redis.call('HGET', KEYS[1], 'd') or '0')
if d <= tonumber(ARGV[2]) then redis.call('SREM', KEYS[2], ARGV[3]) end
return 1`)

// Save implements [inbox.Store].
func (s *Store) Save(ctx context.Context, businessID int64, st inbox.ChatState) error {
	st.Dirty = 0 // the store's own count stays
	v, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return save.Run(ctx, s.rdb, []string{s.chatKey(businessID, st.ChatID), s.dirtyKey(businessID)},
		string(v), strconv.FormatUint(st.Clean, 10), strconv.FormatInt(st.ChatID, 10)).Err()
}

// MarkDirty implements [inbox.Store].
func (s *Store) MarkDirty(ctx context.Context, businessID, chatID int64) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HIncrBy(ctx, s.chatKey(businessID, chatID), "d", 1)
		p.SAdd(ctx, s.dirtyKey(businessID), chatID)
		return nil
	})
	return err
}

// Dirty implements [inbox.Store].
func (s *Store) Dirty(ctx context.Context, businessID int64) ([]int64, error) {
	ids, err := s.rdb.SMembers(ctx, s.dirtyKey(businessID)).Result()
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, errors.New("redisstore: dirty set holds " + strconv.Quote(id))
		}
		out = append(out, n)
	}
	return out, nil
}

// LeaseChat implements [inbox.Leases].
func (s *Store) LeaseChat(ctx context.Context, businessID, chatID int64) (func(), bool, error) {
	return s.lease(ctx, s.prefix+"lease:chat:"+strconv.FormatInt(businessID, 10)+":"+strconv.FormatInt(chatID, 10))
}

// LeaseSweep implements [inbox.Leases].
func (s *Store) LeaseSweep(ctx context.Context, businessID int64) (func(), bool, error) {
	return s.lease(ctx, s.prefix+"lease:sweep:"+strconv.FormatInt(businessID, 10))
}

// renew and release act on a lease only while it holds this holder's token.
var (
	renew = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
	release = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// lease takes key with a token of its own and keeps it alive until released.
func (s *Store) lease(ctx context.Context, key string) (func(), bool, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	ok, err := s.rdb.SetNX(ctx, key, token, s.ttl).Result()
	if err != nil || !ok {
		return nil, false, err
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(context.Background(), s.ttl/3)
				_ = renew.Run(rctx, s.rdb, []string{key}, token, s.ttl.Milliseconds()).Err()
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			rctx, cancel := context.WithTimeout(context.Background(), s.ttl)
			defer cancel()
			_ = release.Run(rctx, s.rdb, []string{key}, token).Err()
		})
	}, true, nil
}
