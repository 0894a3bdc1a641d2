package inbox_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/notify"
)

// An inbox over a fake Market: the first sweep finds the chat and what the customer
// wrote; a later message arrives by push.
func Example() {
	srv := chattest.NewServer(chattest.WithChat(7, chattest.Chat{ID: 1, About: chatclient.Order(42)}))
	defer srv.Close()
	_, _ = srv.CustomerWrites(7, 1, "Where is my order?")
	client, _ := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))

	seen := make(chan inbox.Event)
	ib, _ := inbox.New(client, 7, inbox.NewMemoryStore(), func(ctx context.Context, e inbox.Event) error {
		select {
		case seen <- e:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	h, _ := notify.NewHandler(inbox.NotifyOptions(ib)...)
	rcv := httptest.NewServer(h)
	defer rcv.Close()
	_ = srv.RegisterReceiver(rcv.URL)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ib.Run(ctx) }()
	show := func(e inbox.Event) {
		switch e.Kind {
		case inbox.ChatCreated:
			fmt.Println(e.Kind, e.ChatID, e.Chat.Status)
		case inbox.NewMessage:
			fmt.Println(e.Kind, e.ChatID, e.Message.Sender, e.Message.Text)
		default:
			fmt.Println(e.Kind, e.ChatID)
		}
	}
	show(<-seen)
	show(<-seen)
	_, _ = srv.CustomerWrites(7, 1, "Hello?")
	show(<-seen)
	cancel()
	<-done
	// Output:
	// ChatCreated 1 WAITING_FOR_PARTNER
	// NewMessage 1 CUSTOMER Where is my order?
	// NewMessage 1 CUSTOMER Hello?
}

// One pass from cron: a file-backed store keeps each chat's place between runs, so
// the second pass hands over only what is new.
func ExampleInbox_Once() {
	waiting := chatclient.StatusWaitingForPartner
	srv := chattest.NewServer(chattest.WithChat(7, chattest.Chat{ID: 1, Status: waiting}, chattest.Chat{ID: 2, Status: waiting}))
	defer srv.Close()
	client, _ := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
	store := inbox.NewMemoryStore() // boltstore.Open("inbox.db") in a real job

	pass := func() {
		ib, _ := inbox.New(client, 7, store, func(_ context.Context, e inbox.Event) error {
			fmt.Println(" ", e.Kind, e.ChatID)
			return nil
		}, inbox.WithWorkers(1))
		rep, err := ib.Once(context.Background())
		fmt.Printf("swept %d chats, %d events, %d held back, err %v\n", rep.Chats, rep.Events, len(rep.HeldBack), err)
	}
	pass()
	_, _ = srv.CustomerWrites(7, 2, "Hello?")
	pass()
	// Output:
	//   ChatCreated 1
	//   ChatCreated 2
	// swept 2 chats, 2 events, 0 held back, err <nil>
	//   NewMessage 2
	// swept 2 chats, 1 events, 0 held back, err <nil>
}
