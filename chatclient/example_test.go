package chatclient_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

// The examples run against chattest, the fake Market; with a real account, leave out
// WithBaseURL and pass your token: chatclient.New(chatclient.APIKey(os.Getenv("YM_API_KEY"))).
func exampleClient() (*chatclient.Client, func()) {
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
	if err != nil {
		panic(err)
	}
	return client, srv.Close
}

func ExampleClient_CreateChat() {
	client, done := exampleClient()
	defer done()
	ctx := context.Background()

	// Start a chat about an order (or chatclient.Return for a return).
	chatID, err := client.CreateChat(ctx, 100, chatclient.Order(10043070))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Asking again gives the same chat.
	again, _ := client.CreateChat(ctx, 100, chatclient.Order(10043070))
	fmt.Println(chatID == again)

	// An order the business does not have.
	_, err = client.CreateChat(ctx, 100, chatclient.Order(1))
	fmt.Println(errors.Is(err, chatclient.ErrNotFound))
	// Output:
	// true
	// true
}

func ExampleClient_GetChat() {
	client, done := exampleClient()
	defer done()

	chat, err := client.GetChat(context.Background(), 100, 5000003)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(chat.ID, chat.Type, chat.Status, chat.Context.Type, chat.Context.OrderID)
	// The fake's dates are relative to now: this chat has waited 29 days.
	fmt.Println(chat.Context.Customer.Name, "waiting", int(time.Since(chat.UpdatedAt).Hours()/24), "days")
	// Output:
	// 5000003 CHAT WAITING_FOR_PARTNER ORDER 10043001
	// Tatiana B. waiting 29 days
}

func ExampleClient_ListChats() {
	client, done := exampleClient()
	defer done()
	ctx := context.Background()

	// One page at a time: keep NextPageToken to resume later.
	filter := chatclient.Filter{ContextTypes: []chatclient.ContextType{chatclient.ContextReturn}}
	page, err := client.ListChats(ctx, 100, filter, chatclient.PageRequest{Limit: 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, chat := range page.Chats {
		fmt.Println(chat.ID, chat.Context.ReturnID, chat.Status)
	}
	fmt.Println("more:", page.NextPageToken != "")

	// Bad input never reaches the network.
	_, err = client.ListChats(ctx, 100, filter, chatclient.PageRequest{Limit: 50})
	fmt.Println(err)
	// Output:
	// 5000010 1000700 WAITING_FOR_ARBITER
	// 5000014 1000701 FINISHED
	// 5000018 1000702 WAITING_FOR_CUSTOMER
	// 5000021 1000703 WAITING_FOR_PARTNER
	// 5000022 1000704 WAITING_FOR_ARBITER
	// more: true
	// chatclient: invalid limit: must be between 1 and 20 (0 for the Market's default) (got 50)
}

func ExampleClient_Chats() {
	client, done := exampleClient()
	defer done()

	// Every chat waiting for the seller's answer, across all pages.
	waiting := chatclient.Filter{Statuses: []chatclient.ChatStatus{chatclient.StatusWaitingForPartner}}
	n := 0
	for chat, err := range client.Chats(context.Background(), 100, waiting) {
		if err != nil {
			fmt.Println(err)
			return
		}
		if n < 3 {
			fmt.Println(chat.ID, chat.Context.Type)
		}
		n++
	}
	fmt.Println("waiting:", n)
	// Output:
	// 5000003 ORDER
	// 5000009 ORDER
	// 5000015 DIRECT
	// waiting: 40
}
