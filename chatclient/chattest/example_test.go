package chattest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

// countWaiting is the code under test: it counts the chats waiting for the seller.
func countWaiting(ctx context.Context, c *chatclient.Client, business int64) (int, error) {
	n := 0
	filter := chatclient.Filter{Statuses: []api.ChatStatus{api.ChatStatusWaitingForPartner}}
	for _, err := range c.Chats(ctx, business, filter) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Test your own code against the fake Market: start it, point a client at it, and make
// it misbehave to see that your code copes.
func ExampleNewServer() {
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	client, _ := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))

	n, err := countWaiting(context.Background(), client, 100)
	fmt.Println(n, err)

	// The next two answers fail; the client retries and the count is unchanged.
	srv.Script("getChats", chattest.HTML502(), chattest.Delay(10*time.Millisecond))
	n, err = countWaiting(context.Background(), client, 100)
	fmt.Println(n, err)

	// What the client sent.
	last := srv.Requests()[len(srv.Requests())-1]
	fmt.Println(last.Operation, last.AuthScheme, last.Query.Get("limit"), string(last.Body))
	// Output:
	// 40 <nil>
	// 40 <nil>
	// getChats Api-Key 20 {"statuses":["WAITING_FOR_PARTNER"]}
}
