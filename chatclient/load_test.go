package chatclient_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

// 64 goroutines across 3 businesses make 3,000 mixed calls through one client against
// chattest with its parallel limit of 4: no parallel-limit 420 reaches a caller, and
// every chat created is found again by listing, once.
func TestLoadMixedCallsThroughOneClient(t *testing.T) {
	const (
		workers     = 64
		calls       = 3000
		perBusiness = 400 // orders to start chats about
	)
	businesses := []int64{100, 200, 300}
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithRequestLog(0))
	defer srv.Close()
	for _, b := range businesses {
		for i := range perBusiness {
			srv.AddOrder(b, chattest.Order{OrderID: 70_000_000 + b*1000 + int64(i), CampaignID: 1})
		}
	}
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
	require.NoError(t, err)

	var (
		next     atomic.Int64
		mu       sync.Mutex
		created  = map[int64]map[int64]int64{} // business → order → chat
		failures []error
		wg       sync.WaitGroup
	)
	for _, b := range businesses {
		created[b] = map[int64]int64{}
	}
	fail := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for {
				n := next.Add(1)
				if n > calls {
					return
				}
				b := businesses[n%3]
				switch n % 5 {
				case 0, 1: // create; some orders twice, concurrently, to check idempotence
					order := 70_000_000 + b*1000 + (n/3)%perBusiness
					id, err := client.CreateChat(ctx, b, chatclient.Order(order))
					if err != nil {
						fail(err)
						continue
					}
					mu.Lock()
					if prev, ok := created[b][order]; ok && prev != id {
						failures = append(failures, errors.New("two chats for one order"))
					}
					created[b][order] = id
					mu.Unlock()
				case 2, 3:
					if _, err := client.GetChat(ctx, b, 5_000_001); err != nil && !errors.Is(err, chatclient.ErrNotFound) {
						fail(err)
					}
				default:
					if _, err := client.ListChats(ctx, b, chatclient.Filter{Statuses: []api.ChatStatus{api.ChatStatusNew}}, chatclient.PageRequest{Limit: 20}); err != nil {
						fail(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range failures {
		assert.NoError(t, err)
		assert.False(t, errors.Is(err, chatclient.ErrRateLimited), "a 420 reached a caller")
	}

	for _, b := range businesses {
		listed := map[int64]int{}
		for chat, err := range client.Chats(context.Background(), b, chatclient.Filter{Statuses: []api.ChatStatus{api.ChatStatusNew}}) {
			require.NoError(t, err)
			listed[chat.ID]++
		}
		assert.NotEmpty(t, created[b])
		for order, id := range created[b] {
			assert.Equal(t, 1, listed[id], "business %d: the chat for order %d is listed exactly once", b, order)
		}
		for id, n := range listed {
			assert.Equal(t, 1, n, "chat %d listed %d times", id, n)
		}
	}
}
