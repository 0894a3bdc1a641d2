// Package boltstore is an [inbox.Store] in a file, for one process: the state of every
// chat, kept with go.etcd.io/bbolt.
//
// Why bbolt: each save is a transaction that is on disk when it returns (fsync), so
// a crash or a power cut leaves the last saved state, never a torn one; only the
// chat's own record is written, not the whole state rewritten as a JSON file would
// be on every save, which matters when every handled message saves; it is pure Go
// (no cgo, builds anywhere chatclient does) and has no server to run. The file is
// locked: a second process opening it waits (up to [DefaultTimeout]) and fails,
// which keeps two processes from handing the same chats over. For a fleet, use a
// shared store.
package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ymchat/ymchat/chatclient/inbox"
)

// DefaultTimeout is how long Open waits for another process to release the file.
const DefaultTimeout = time.Second

// Store is an [inbox.Store] in a bbolt file: a bucket per business, a record per chat
// keyed by its id. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
}

var _ inbox.Store = (*Store)(nil)

// Open opens (creating it if need be) the store in the file at path. Close it when
// done.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: DefaultTimeout})
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func bucketName(business int64) []byte { return []byte("business/" + strconv.FormatInt(business, 10)) }

func chatKey(chat int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(chat)) }

func decode(v []byte, chat int64) (inbox.ChatState, error) {
	var st inbox.ChatState
	if v != nil {
		if err := json.Unmarshal(v, &st); err != nil {
			return st, errors.New("boltstore: chat " + strconv.FormatInt(chat, 10) + ": " + err.Error())
		}
	}
	st.ChatID = chat
	return st, nil
}

// Load implements [inbox.Store].
func (s *Store) Load(_ context.Context, businessID, chatID int64) (inbox.ChatState, error) {
	var st inbox.ChatState
	err := s.db.View(func(tx *bolt.Tx) error {
		var v []byte
		if b := tx.Bucket(bucketName(businessID)); b != nil {
			v = b.Get(chatKey(chatID))
		}
		var err error
		st, err = decode(v, chatID)
		return err
	})
	return st, err
}

// update changes one chat's record in a transaction of its own.
func (s *Store) update(businessID, chatID int64, change func(*inbox.ChatState)) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketName(businessID))
		if err != nil {
			return err
		}
		k := chatKey(chatID)
		st, err := decode(b.Get(k), chatID)
		if err != nil {
			return err
		}
		change(&st)
		v, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
}

// Save implements [inbox.Store].
func (s *Store) Save(_ context.Context, businessID int64, st inbox.ChatState) error {
	return s.update(businessID, st.ChatID, func(old *inbox.ChatState) {
		st.Dirty = old.Dirty
		*old = st
	})
}

// MarkDirty implements [inbox.Store].
func (s *Store) MarkDirty(_ context.Context, businessID, chatID int64) error {
	return s.update(businessID, chatID, func(st *inbox.ChatState) { st.Dirty++ })
}

// Dirty implements [inbox.Store].
func (s *Store) Dirty(_ context.Context, businessID int64) ([]int64, error) {
	var out []int64
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketName(businessID))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			st, err := decode(v, int64(binary.BigEndian.Uint64(k)))
			if err != nil {
				return err
			}
			if st.IsDirty() {
				out = append(out, st.ChatID)
			}
			return nil
		})
	})
	return out, err
}
