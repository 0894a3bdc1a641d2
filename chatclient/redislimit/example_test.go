package redislimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// Share the Market's limits between every process on the same token: give each
// client a Limiter on the same Redis. (Here an in-memory miniredis stands in for
// Redis, and chattest for the Market.)
func Example() {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		panic(err)
	}
	defer mr.Close()
	market := chattest.NewServer(chattest.WithDefaultFixture())
	defer market.Close()

	// ContextTimeoutEnabled lets the Limiter bound each Redis call.
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	lim, err := redislimit.New(rdb, redislimit.WithPrefix("myapp:ymchat:"))
	if err != nil {
		panic(err)
	}
	defer lim.Close()

	client, err := chatclient.New(chatclient.APIKey(chattest.DefaultToken), chatclient.WithBaseURL(market.URL),
		chatclient.WithLimits(lim))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	chat, err := client.GetChat(ctx, 100, 5000001)
	fmt.Println(chat.ID, err)

	// What the Market reported of the quota is now known to every process.
	rl, ok := client.Quota(ctx, 100, chatclient.OpGetChat)
	fmt.Println(ok, rl.Limit, rl.Remaining)
	// Output:
	// 5000001 <nil>
	// true 1000 999
}
