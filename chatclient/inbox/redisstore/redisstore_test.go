package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/inbox/redisstore"
	"github.com/ymchat/ymchat/chatclient/inbox/storetest"
	"github.com/ymchat/ymchat/internal/redistest"
)

var (
	server  *redistest.Server
	counter atomic.Int64
)

func TestMain(m *testing.M) {
	var err error
	server, err = redistest.Start()
	if err != nil {
		fmt.Println("redis:", err)
		return
	}
	code := m.Run()
	server.Stop()
	if code != 0 {
		panic(code)
	}
}

// open returns a store under a prefix of its own, with its own connection.
func open(t *testing.T, prefix string, ttl time.Duration) (*redisstore.Store, *redis.Client) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr})
	t.Cleanup(func() { rdb.Close() })
	s, err := redisstore.New(rdb, prefix, ttl)
	require.NoError(t, err)
	return s, rdb
}

func prefix() string { return fmt.Sprintf("test%d:", counter.Add(1)) }

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) inbox.Store {
		s, _ := open(t, prefix(), 0)
		return s
	})
}

func TestAChatLeaseIsExclusiveAndExpiresWithItsHolder(t *testing.T) {
	ctx := context.Background()
	p := prefix()
	a, ardb := open(t, p, 2*time.Second)
	b, brdb := open(t, p, 2*time.Second)

	release, ok, err := a.LeaseChat(ctx, 7, 1)
	require.NoError(t, err)
	require.True(t, ok)
	// Wait for a renewal (the lease's time to live goes up again), not for a time.
	key := p + "lease:chat:7:1"
	lowest := ardb.PTTL(ctx, key).Val()
	renewed := false
	for deadline := time.Now().Add(10 * time.Second); !renewed && time.Now().Before(deadline); {
		ttl := ardb.PTTL(ctx, key).Val()
		renewed = ttl > lowest
		lowest = min(lowest, ttl)
		time.Sleep(5 * time.Millisecond)
	}
	require.True(t, renewed, "the holder renews its lease")
	_, ok, err = b.LeaseChat(ctx, 7, 1)
	require.NoError(t, err)
	assert.False(t, ok, "held and renewed by a")
	_, ok, _ = b.LeaseChat(ctx, 7, 2)
	assert.True(t, ok, "another chat is free")
	release()
	releaseB, ok, _ := b.LeaseChat(ctx, 7, 1)
	require.True(t, ok, "free once released")

	// b dies holding it: its connection goes, its renewals fail.
	_ = releaseB
	require.NoError(t, brdb.Close())
	deadline := time.Now().Add(10 * time.Second) // generous: the TTL is 2 s
	for {
		_, ok, err = a.LeaseChat(ctx, 7, 1)
		require.NoError(t, err)
		if ok {
			break
		}
		require.True(t, time.Now().Before(deadline), "a dead holder's lease must expire with its TTL")
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOneSweeperPerBusiness(t *testing.T) {
	ctx := context.Background()
	p := prefix()
	a, _ := open(t, p, 0)
	b, _ := open(t, p, 0)
	release, ok, err := a.LeaseSweep(ctx, 7)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, _ = b.LeaseSweep(ctx, 7)
	assert.False(t, ok)
	_, ok, _ = b.LeaseSweep(ctx, 8)
	assert.True(t, ok, "another business")
	release()
	_, ok, _ = b.LeaseSweep(ctx, 7)
	assert.True(t, ok)
}

// TestAFleetHandsEachMessageOverOnce runs two inboxes on one store over one fake
// Market: every message reaches the handler once.
func TestAFleetHandsEachMessageOverOnce(t *testing.T) {
	var chats []chattest.Chat
	for i := 1; i <= 40; i++ {
		chats = append(chats, chattest.Chat{ID: int64(i), About: chatclient.Order(int64(100 + i))})
	}
	srv := chattest.Start(t, chattest.WithChat(7, chats...))
	for i := 1; i <= 40; i++ {
		for range 3 {
			_, err := srv.CustomerWrites(7, int64(i), "hello")
			require.NoError(t, err)
		}
	}
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
	require.NoError(t, err)
	p := prefix()
	var mu sync.Mutex
	seen := map[int64]int{}
	messages := make(chan struct{}, 1000)
	handle := func(_ context.Context, e inbox.Event) error {
		if e.Kind == inbox.NewMessage {
			mu.Lock()
			seen[e.Message.ID]++
			mu.Unlock()
			messages <- struct{}{}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var inboxes []*inbox.Inbox
	for range 2 {
		store, _ := open(t, p, 0)
		ib, err := inbox.New(client, 7, store, handle, inbox.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
		require.NoError(t, err)
		inboxes = append(inboxes, ib)
		wg.Go(func() { _ = ib.Run(ctx) })
	}
	// Pushes reach either process.
	for i := 1; i <= 40; i++ {
		require.NoError(t, inboxes[i%2].Wake(ctx, int64(i), false))
	}
	timeout := time.After(20 * time.Second)
	for range 120 {
		select {
		case <-messages:
		case <-timeout:
			t.Fatal("timed out waiting for the messages")
		}
	}
	cancel()
	wg.Wait()
	assert.Len(t, seen, 120)
	for id, n := range seen {
		assert.Equal(t, 1, n, "message %d", id)
	}
}
