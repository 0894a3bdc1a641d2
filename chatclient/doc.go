// Package chatclient is a client for the chat methods of the Yandex Market Partner API:
// start a chat about an order or a return, read a chat, and list chats — and keep
// working under the Market's request limits and failures.
//
// # Quick start
//
//	client, err := chatclient.New(chatclient.APIKey(os.Getenv("YM_API_KEY")))
//	if err != nil {
//		return err
//	}
//	waiting := chatclient.Filter{Statuses: []api.ChatStatus{api.ChatStatusWaitingForPartner}}
//	for chat, err := range client.Chats(ctx, businessID, waiting) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(chat.ID, chat.Context.OrderID, chat.UpdatedAt)
//	}
//
// [Client.CreateChat] starts (or finds) the chat about an order or a return,
// [Client.GetChat] reads one chat, [Client.ListChats] returns one page and a token to
// resume from, and [Client.Chats] iterates over every page. Enum types (statuses, chat
// and context types) come from package [github.com/ymchat/ymchat/api]; values the
// Market adds later decode without error and come through as they are.
//
// # Input
//
// Arguments are checked before anything is sent: ids of at least 1, a context of type
// ORDER or RETURN, a page limit of 1 to 20, filter lists that are nil or hold distinct,
// known values. A bad argument returns a [*ValidationError] naming the field.
//
// # Errors
//
// A non-2xx answer is an [*APIError] with the operation, the status, every error the
// Market listed and its quota headers; errors.Is matches it against [ErrBadRequest],
// [ErrUnauthorized], [ErrForbidden], [ErrNotFound], [ErrRateLimited] and
// [ErrServerError]. A call that was retried until it gave up returns a [*RetryError]
// saying how many attempts were made and wrapping the last failure. A 2xx answer that is
// not the documented JSON, or a body over [MaxResponseBytes], is a [*ResponseError] with
// an excerpt. A spent quota is a [*RateLimitError] that says when it resets.
//
// # Retries
//
// Network errors and HTTP 500, 502, 503 and 504 are retried with exponential backoff
// and full jitter ([DefaultRetryPolicy]: 5 attempts, waits capped at 250ms, 500ms, 1s
// and 2s). 400, 401, 403 and 404 are never retried. Request bodies are replayed on every
// attempt. createChat returns the existing chat for the same order or return, so it is
// retried like the reads.
//
// # The two kinds of 420
//
// The Market answers 420 both when a business has more than 4 requests in flight and
// when an operation's hourly quota (createChat 1,000, getChat 1,000, getChats 10,000) is
// spent:
//
//   - A parallel-limit 420 clears in moments: the client retries after a short jittered
//     backoff (RetryPolicy.ParallelBackoff). So does a 420 whose X-RateLimit-Resource-Until
//     header is missing or does not parse.
//   - A quota 420 (X-RateLimit-Resource-Remaining 0, -Until in the future) clears at
//     Until. The client waits for it only when Until falls within both [WithMaxWait]
//     (default [DefaultMaxWait], one minute) and the context deadline; otherwise it
//     returns a [*RateLimitError] at once.
//
// Every wait ends when the context is cancelled, and no wait runs past its deadline.
//
// # Prevention
//
// The client holds at most [DefaultMaxInFlight] (4) requests in flight per business,
// across all goroutines that share it ([WithMaxInFlight]). It remembers the quota each
// answer reports, and once an operation's quota is spent it holds later calls until
// the reset (within the same budget) or fails them with a [*RateLimitError] without
// sending a request. A request waits for its in-flight slot before the quota check, so
// goroutines queued behind a full limit act on the latest answer. A request refused for
// the parallel limit keeps its slot while it backs off, so a client competing with
// others for the same business sends fewer requests at once. A well-behaved caller
// rarely sees a 420.
//
// # Security
//
// The token is sent only to the configured API host and scheme; a redirect elsewhere
// goes without it, and a plain-http base URL is refused unless its host is loopback. No
// error, log record or String of any value of this package holds the token.
//
// # Observability
//
// [WithLogger] logs one debug record per request (operation, business, attempt, status,
// duration, and the wait before the next one); nothing is logged above debug.
// [WithRetryHook] is called before every wait.
//
// # Testing
//
// Package [github.com/ymchat/ymchat/chatclient/chattest] runs an in-memory fake Market
// to point the client at with [WithBaseURL].
package chatclient
