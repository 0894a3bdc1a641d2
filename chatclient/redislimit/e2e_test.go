package redislimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

// Two clients in "separate processes" (each with its own Limiter and Redis client)
// share one Redis and hammer business 100 of the fake Market: the Market never has to
// answer 420, neither for the parallel limit nor for a small quota that runs out
// while they work.
func TestTwoClientsSharingRedisGetNo420(t *testing.T) {
	noLeaks(t)
	srv := chattest.NewServer(chattest.WithDefaultFixture(),
		chattest.WithQuota("getChat", chattest.Quota{Limit: 25, Window: 2 * time.Second}))
	defer srv.Close()
	var clients []*chatclient.Client
	for range 2 {
		l := limiter(t, client(t))
		c, err := chatclient.New(chatclient.APIKey(chattest.DefaultToken), chatclient.WithBaseURL(srv.URL),
			chatclient.WithLimits(l), chatclient.WithMaxWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const workers, calls = 8, 5 // per client: 80 calls, 40 getChat past a quota of 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*calls)
	for _, c := range clients {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range calls {
					var err error
					if (w+i)%2 == 0 {
						_, err = c.GetChat(ctx, 100, 5000001+int64(i))
					} else {
						_, err = c.ListChats(ctx, 100, chatclient.Filter{}, chatclient.PageRequest{})
					}
					if err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n420, total int
	for _, r := range srv.Requests() {
		total++
		if r.Status == 420 {
			n420++
		}
	}
	if n420 != 0 || total < 2*workers*calls {
		t.Fatalf("the fake Market answered 420 to %d of %d requests", n420, total)
	}
}
