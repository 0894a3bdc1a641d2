package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ymchat/ymchat/chatclient/notify"
)

// The handler mounted at /notification, answering a CHAT_MESSAGE_SENT the way the
// Market sends it. In production, put it behind HTTPS and add
// notify.WithAllowedNetworks(notify.MarketNetworks...).
func ExampleNewHandler() {
	h, err := notify.NewHandler(
		notify.OnChatMessageSent(func(ctx context.Context, n notify.ChatMessageSent) error {
			id, err := n.MessageID.Int64()
			if err != nil {
				return err
			}
			fmt.Printf("business %d, chat %d: message %d sent at %s\n", n.BusinessID, n.ChatID, id, n.SentAt.UTC().Format(time.RFC3339))
			return nil // an error here makes the Market send the notification again
		}),
		notify.WithDedup(10_000),
		notify.WithName("my-shop"),
		notify.WithVersion("1.0.0"),
		notify.WithLogger(slog.New(slog.DiscardHandler)),
		notify.WithClock(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC) }),
	)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/notification", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	body := `{"notificationType":"CHAT_MESSAGE_SENT","chatId":81,"messageId":"1004","businessId":7,"sentAt":"2026-01-02T06:04:05+03:00"}`
	for range 2 { // the second delivery is a repeat: answered without calling the function
		resp, err := srv.Client().Post(srv.URL+"/notification", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(answer))
	}
	// Output:
	// business 7, chat 81: message 1004 sent at 2026-01-02T03:04:05Z
	// 200 {"version":"1.0.0","name":"my-shop","time":"2026-01-02T03:04:06.000Z"}
	// 200 {"version":"1.0.0","name":"my-shop","time":"2026-01-02T03:04:06.000Z"}
}

// One function for every chat notification, with a type switch.
func ExampleOnNotification() {
	h, err := notify.NewHandler(
		notify.OnNotification(func(ctx context.Context, n notify.Notification) error {
			switch n := n.(type) {
			case notify.ChatCreated:
				fmt.Println("new chat", n.ChatID)
			case notify.ChatArbitrageStarted, notify.ChatArbitrageFinished:
				fmt.Println("dispute:", n.NotificationType())
			default:
				fmt.Println("ignored:", n.NotificationType())
			}
			return nil
		}),
		notify.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	for _, body := range []string{
		`{"notificationType":"PING"}`, // answered by the handler alone
		`{"notificationType":"CHAT_CREATED","chatId":81,"businessId":7,"createdAt":"2026-01-02T03:04:05Z"}`,
		`{"notificationType":"CHAT_ARBITRAGE_STARTED","chatId":81,"businessId":7,"startedAt":"2026-01-02T03:04:05Z"}`,
		`{"notificationType":"ORDER_CREATED","campaignId":1,"orderId":2}`,
		`{"notificationType":"CHAT_CREATED","chatId":0}`,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notification", strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			fmt.Println(rec.Code, rec.Body.String())
		}
	}
	// Output:
	// new chat 81
	// dispute: CHAT_ARBITRAGE_STARTED
	// ignored: ORDER_CREATED
	// 400 {"error":{"type":"WRONG_EVENT_FORMAT","message":"chatId: must be at least 1"}}
}

func ExampleDecode() {
	n, err := notify.Decode([]byte(`{"notificationType":"CHAT_MESSAGE_SENT","chatId":81,"messageId":1004,"businessId":7,"sentAt":"2026-01-02T03:04:05Z"}`))
	fmt.Printf("%#v %v\n", n.(notify.ChatMessageSent).MessageID, err)

	_, err = notify.Decode([]byte(`{"notificationType":"CHAT_CREATED","chatId":81,"businessId":7,"createdAt":"today"}`))
	fmt.Println(err)
	// Output:
	// "1004" <nil>
	// createdAt: "today" is not an RFC 3339 date-time
}

func ExampleMessageID_Int64() {
	for _, id := range []notify.MessageID{"1004", "m-17"} {
		n, err := id.Int64()
		fmt.Println(n, err)
	}
	// Output:
	// 1004 <nil>
	// 0 notify: message id "m-17" is not an int64
}
