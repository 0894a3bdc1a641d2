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
//     pages show up on later pages and none is skipped or repeated. A page holds
//     [DefaultPageSize] chats unless the request's limit (at most 20) says otherwise;
//     the last page has no nextPageToken.
//   - A request without credentials is a 401, one with a wrong token a 403. The token
//     goes in an Api-Key header or as an OAuth bearer token.
//   - At most [DefaultParallelLimit] requests per business are served at once; another
//     is answered 420 "Hit rate limit of 4 parallel requests". Each operation has a
//     quota ([DocumentedQuotas] by default; [WithQuota] sets, say, 50 per second for
//     tests); a request over it is answered 420 with Remaining 0. Every answer carries
//     X-RateLimit-Resource-Limit, -Remaining and -Until (RFC 1123, GMT).
//
// [Server.Script] and [WithFaultRate] make it misbehave — error statuses, HTML 502s,
// bodies that are not JSON, delays, dropped connections, truncated bodies — and
// [Server.Requests] tells what a client sent.
package chattest
