// Package chatclient is a client for the chat methods of the Yandex Market Partner API:
// list the chats waiting for the seller, read what the customer wrote, answer with text
// or a file, start a chat about an order or a return — and keep working under the
// Market's request limits and failures.
//
// # Quick start
//
//	client, err := chatclient.New(chatclient.APIKey(os.Getenv("YM_API_KEY")))
//	if err != nil {
//		return err
//	}
//	waiting := chatclient.Filter{Statuses: []chatclient.ChatStatus{chatclient.StatusWaitingForPartner}}
//	for chat, err := range client.Chats(ctx, businessID, waiting) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(chat.ID, chat.Context.OrderID, chat.UpdatedAt)
//	}
//
// [Client.CreateChat] starts (or finds) the chat about a [Subject] ([Order] or
// [Return]); [Client.GetChat] reads one chat; [Client.ListChats] returns one page and a
// token to resume from; [Client.ChatPages] iterates over pages (and resumes from a
// stored token after a failure) and [Client.Chats] over every chat. The conversation:
// [Client.Messages] and [Client.MessagePages] read a chat's history, [Client.GetMessage]
// one message, [Client.SendMessage] and [Client.SendFile] answer — never twice.
//
// Everyday code needs only this package: the enums ([ChatStatus], [ChatType],
// [ContextType], [Sender]) with their known values as lists ([ChatStatuses], ...), the
// [Filter], and the results. Values the Market adds later decode without error and
// come through as they are. Package [github.com/ymchat/ymchat/api] (generated) stays
// public for power users.
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
// The retry decision is a pure function of each attempt's outcome, status and headers
// first, then the error's type (the full table is on the unexported decide function and
// is tested row by row in decide_test.go). Every transport failure is one of three
// kinds: the request did not leave this process, the answer did not come back, or it
// cannot clear.
//
//	2xx, 400, 401, 403, 404, other 4xx        returned at once
//	500, 502, 503, 504, a body cut off        backoff and retry
//	420/429 quota spent, reset within budget  wait for the reset, then retry
//	420/429 quota spent, reset further off    *RateLimitError at once (with RetryAfter)
//	429 with Retry-After                      wait as told within budget, else *RateLimitError
//	420, 429 otherwise (parallel limit)       short backoff and retry
//	the request did not leave (connection
//	refused, temporary DNS failure)           backoff and retry
//	the answer did not come back (a reset, a
//	timeout of the http.Client, an answer
//	cut off or malformed, even in its status
//	line)                                     backoff and retry
//	the caller's context ended                returned at once
//	TLS verification, redirect loop, invalid
//	header value, unsupported scheme, no
//	such host, body over the read limit       returned at once: these cannot clear
//
// Backoff is exponential with full jitter ([DefaultRetryPolicy]: 5 attempts, waits
// capped at 250ms, 500ms, 1s and 2s). Request bodies are replayed on every attempt.
// createChat returns the existing chat for the same order or return, so it is retried
// like the reads; sending a message or a file is not (see "Sending at most once").
//
// A 2xx answer counts only when its envelope says so: "status": "ERROR", a result that
// is null or missing, or a body that is not the documented JSON is a [*ResponseError]
// ([ErrStatusError], [ErrNoResult]) with the Market's codes and an excerpt, never an
// empty page or an empty chat. A listing yields each item once (by id), whatever the
// Market repeats, and stops with a [*PagingError] when pages stop bringing new items.
//
// # Sending at most once
//
// The Market offers no idempotency key for [Client.SendMessage] and [Client.SendFile],
// so the client keeps one rule: a message or a file is sent again only when the Market
// certainly did not act on the attempt before — it refused it with 420 or 429, or the
// request never left this process. After any other failure (a timeout, an answer cut
// off, a 5xx, a gateway's 504 while the Market works on, the caller's deadline) the
// chat's history decides. It is read once the send can no longer land ([WithLandingWindow]
// after the failed attempt; [DefaultLandingWindow]) and only when that fits the call's
// budget (its deadline and [WithMaxWait]):
//
//   - one PARTNER message with the same text, or an attachment of the same size and
//     name, written in the send's window: the call returns nil;
//   - none, a history that cannot be read, or a message another send of the same
//     words to the same chat could explain: a [*MaybeDeliveredError] (matching
//     [ErrMaybeDelivered]) that carries the chat, the text or file, and the send's
//     window on the Market's clock, with CheckErr saying why ([ErrNotInHistory],
//     [ErrIndistinguishable], [ErrSettleLater]).
//
// Nothing is ever reported sent that the history does not show, and a send the Market
// may have acted on is never a plain failure, so a caller that sends again on any other
// error never sends twice. [Client.Delivered] settles a MaybeDeliveredError later, from
// its SettleAfter on: false means sending again is safe.
//
// # The Market's clock
//
// Quota resets are times on the Market's clock: a wait is the reset minus the answer's
// own Date header, applied to the local clock, so a local clock minutes off neither
// stretches a 3-second reset nor mistakes a quota 420 for a parallel one. Until is read
// in every date form HTTP and RFC 822 allow; an unknown zone name is not taken as UTC.
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
// error, log record, String or GoString of any value of this package holds the token,
// even when a server echoes it back in a body: it is redacted.
//
// # Limits shared by a fleet
//
// The in-flight slots and the quota windows sit behind one small interface, [Limits]:
// Admit takes a slot and a place in the quota (both or neither) and returns a [Ticket]
// that names them; Done gives back exactly that, with the answer's quota report. The
// default lives in the process ([NewLocalLimits]) and frees a business's state when it
// is idle; package redislimit shares the limits between processes through Redis
// ([WithLimits]). [Client.Quota] reads the last known quota of an operation at any time.
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
