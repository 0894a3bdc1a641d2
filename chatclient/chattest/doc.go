// Package chattest runs an in-memory fake of the Yandex Market chat API over real HTTP,
// for testing code that uses package chatclient (or any client of the API) without an
// account.
//
//	srv := chattest.NewServer(chattest.WithDefaultFixture())
//	defer srv.Close()
//	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
//
// The fake behaves like the Market where a client can tell:
//
//   - It implements the server interface generated from openapi.yaml and checks every
//     request against the spec: a bad parameter or body is a 400 in the Market's JSON
//     error envelope, naming the field.
//   - createChat starts a chat about an order or a return the business has (404 when it
//     has none), and returns the existing chat when there is one already.
//   - getChat returns a chat or a 404; getChats applies every filter (AND) and pages
//     with opaque tokens. Chats come in chat id order, so chats created while a caller
//     pages show up on later pages and none is skipped or repeated — unless
//     [WithListingOrder] says otherwise (newest update first, or shuffled), as the
//     Market, which states no order, may do. A page holds
//     [DefaultPageSize] chats unless the request's limit (at most 20) says otherwise;
//     the last page has no nextPageToken.
//   - A request without credentials is a 401, one with a wrong token a 403. The token
//     goes in an Api-Key header or as an OAuth bearer token.
//   - At most [DefaultParallelLimit] requests per business are served at once; another
//     is answered 420 "Hit rate limit of 4 parallel requests". Each operation has a
//     quota ([DocumentedQuotas] by default; [WithQuota] sets, say, 50 per second for
//     tests); a request over it is answered 420 with Remaining 0. Every answer carries
//     X-RateLimit-Resource-Limit, -Remaining and -Until (RFC 1123, GMT).
//   - Page tokens come as page_token or pageToken (page_token wins when both are
//     given), for getChats and getChatHistory alike.
//
// Conversations. Every chat holds messages, oldest first, with ids unique in the
// business and increasing.
//
//   - getChatHistory returns a chat's messages oldest first, starting at messageIdFrom
//     (the first message whose id is at least that; the chat's first message when it
//     is left out), [DefaultHistoryPageSize] (50) per page unless limit (1 to 100) says
//     otherwise. A page token is bound to its business and chat and goes on after the
//     last message handed out, whatever messageIdFrom says; messages written while a
//     caller pages show up on later pages.
//   - getChatMessage returns one message, or a 404.
//   - sendMessageToChat appends a PARTNER message; the chat moves to
//     WAITING_FOR_CUSTOMER and its updatedAt to the message's time.
//   - sendFileToChat reads the multipart body's file part (at most [MaxFileSize],
//     5 MiB; a larger file or body is a 400 naming the field), stores the bytes and
//     appends a PARTNER message whose payload names the file, its size and a URL on
//     the fake itself (<URL>/files/<id>/<name>) that serves the bytes back with their
//     Content-Type, without credentials. The chat moves as for a text message.
//   - [Server.CustomerWrites] plays the customer (the chat then waits for the
//     partner), as do [Server.CustomerSendsFile] and [Server.CustomerSendsSticker]; [Server.SetChatStatus] moves a chat; [Server.Messages] reads a chat's
//     messages for assertions.
//
// The default fixture ([DefaultFixture]) gives business 100 conversations in several
// languages, with every sender (PARTNER, CUSTOMER, MARKET, SUPPORT):
//
//   - chat 5000003, Russian, messages 1000001-1000004; 1000002 and 1000004 carry
//     photos (box.jpg; item-1.jpg and item-2.jpg);
//   - chat 5000002, English, 1000005-1000008; 1000006 carries spec-sheet.pdf;
//   - chat 5000004, Chinese, a dispute, 1000009-1000013; 1000011 carries 照片.jpg;
//   - chat 5000005, Kazakh, 1000014-1000017; 1000015 carries receipt.pdf;
//   - chat 5000006, Russian, finished, 1000018-1000020;
//   - chat 5000008, a long history of 300 messages generated at load (customer and
//     partner taking turns, in four languages), ids 1000021-1000320, for paging.
//   - chats 5000078, 5000036, 5000109, 5000041 and 5000108, the five that have waited
//     longest for the partner (WAITING_FOR_PARTNER, oldest updatedAt), short
//     conversations that end with the customer's unanswered message, ids
//     990001-990015 (below the others, so that new messages still start at 1000321).
//
// Fixture files have made-up content of their declared size. A fixture gives a
// chat's messages with [Conversation].
//
// Notifications. [Server.RegisterReceiver] (or [WithReceiver]) points the fake at a
// notification endpoint, such as a chatclient/notify Handler: it posts a PING at once
// (an error unless answered 200), then CHAT_CREATED when createChat starts a chat,
// CHAT_MESSAGE_SENT when [Server.CustomerWrites] writes (messageId a string, as the
// Market sends it), and CHAT_ARBITRAGE_STARTED / _FINISHED on [Server.StartArbitrage]
// and [Server.FinishArbitrage]. Deliveries are asynchronous and in order, one
// goroutine per receiver; a notification answered neither 200 nor 400 is retried on
// the Market's schedule ([MarketRetrySchedule]: every minute for an hour, every 15
// minutes for the day, then hourly, giving up after 14 days), compressed so that a
// minute lasts [DefaultDeliveryMinute] unless [WithDeliverySchedule] says otherwise.
// [Server.Deliveries] records every attempt; [Server.Close] stops them all.
//
// Controls. [Server.Control] is a control surface of its own, under /_fake/ (a path
// the Market never uses), taking the same token: POST /_fake/trigger acts out an
// event ([Trigger]: a customer writes or sends a sticker, a chat is created, a
// dispute starts or ends, a status moves) and sends receivers the notification the
// Market would; POST /_fake/receivers registers a receiver. [Server.WithControl]
// serves the API and the controls on one handler, as `ymchat fake` does, so that
// `ymchat trigger` can drive a fake running in another process.
// [Server.State] and [WithState] carry what the fake holds across a restart.
//
// [Server.Script] and [WithFaultRate] make it misbehave — error statuses, HTML 502s,
// bodies that are not JSON, delays, dropped connections, truncated bodies — and
// [Server.Requests] tells what a client sent. [Drop] closes the connection before the
// request is applied; [DropAfter] applies it (the message is sent) and then closes the
// connection, to test that a client never sends twice what it cannot tell was sent.
// [SpentQuota] and [ParallelLimit] are the two 420s with the Market's headers.
//
// # Breaking the promise on purpose
//
// [Server.Events] is the ground truth: every chat created, message written (id and
// sender), status changed and dispute started or finished, whether anybody was told.
// Against it a test can check code that must not miss anything while the fake
// misbehaves as the Market may: [WithPushDropRate] never sends a share of the
// notifications, [Server.SetReceiverDown] makes the receiver unreachable for a
// while, [Server.CustomerSendsSticker] writes a message with neither text nor payload
// and no notification (the Market sends none for stickers), [Server.SetChatStatus]
// notifies nobody, [WithListingOrder] lists chats in an order that is not by id, and
// [Server.OnChatsPage] lets a test change chats while a caller pages.
//
// # Made for tests
//
// [Start] takes the test and closes the server when it ends. [WithChat] seeds chats
// in the client's vocabulary ([Chat]: no pointers, dates relative to the server's
// clock). [Server.SetChatStatus] moves a chat. [NewClock] is a clock the fake and a
// chatclient share (WithClock(clock.Now) here, chatclient.WithClock(clock) there): the
// fake's Date and rate-limit headers follow it, and a client's retry or quota wait
// advances it at once, so a test of a one-hour reset takes no real time. Every
// [Request] records its headers.
//
// # Where it differs from the real Market
//
//   - An unknown business has no chats (or answers 404), where the Market may answer
//     403 for a business the token cannot see.
//   - getChats pages hold 20 chats unless told otherwise; the Market documents only the
//     maximum (20) and its newer spec a default of 10. History pages hold 50.
//   - Quotas are per business and operation in fixed windows that start at the first
//     request; the Market's hourly windows are its own. Tests set small windows.
//   - Page tokens are readable cursors (base64 JSON); the Market's are opaque too, but
//     different. Tokens from one fake do not work on another business or filter.
//   - Files are kept in memory, served back without credentials under /files/, and
//     their content types are not checked against the Market's list.
//   - Sending to a FINISHED chat reopens it; the Market's behaviour there is not
//     documented.
//   - The fixture's dates are relative to the server's clock ([Fixture].Now): its
//     chats have waited as long whenever it is loaded. A real account's are not.
package chattest
