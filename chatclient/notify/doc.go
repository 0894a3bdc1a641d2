// Package notify receives the push notifications the Yandex Market sends to a
// seller's endpoint (POST to the seller's URL + "/notification") and hands the chat
// notifications to typed functions.
//
// # Usage
//
//	h, err := notify.NewHandler(
//		notify.OnChatMessageSent(func(ctx context.Context, n notify.ChatMessageSent) error {
//			id, err := n.MessageID.Int64()
//			if err != nil {
//				return nil // not a number: nothing getChatMessage can fetch
//			}
//			return queue.Put(ctx, n.BusinessID, n.ChatID, id) // an error makes the Market retry
//		}),
//		notify.WithAllowedNetworks(notify.MarketNetworks...),
//		notify.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")),
//		notify.WithDedup(10_000),
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.Handle("/notification", h)
//
// The Market calls only over HTTPS with a certificate signed by a public CA; serve
// the handler behind a TLS-terminating reverse proxy (or http.ListenAndServeTLS) and
// name the proxy with [WithTrustedProxies] so that [WithAllowedNetworks] sees the
// Market's address from X-Forwarded-For. The handler does not look at the path, so it
// can be mounted anywhere. Its timeout covers the user's function only: give the
// http.Server a ReadHeaderTimeout and ReadTimeout so that slow clients cannot hold
// connections open.
//
// # Answers
//
// The Market waits 10 s for an answer (1 s for PING), drops a notification answered
// 400 and retries one answered anything else but 200 (for up to 14 days, after which
// it switches the integration off). A 400 therefore loses the notification for good,
// and is sent only when a retry could never succeed. So the handler:
//
//   - answers PING 200 itself, before and without any user code, whatever else the
//     object holds (unknown properties may be nested to any depth);
//   - answers 400 WRONG_EVENT_FORMAT only for a complete body that can never
//     succeed: one that is not a JSON object, lacks notificationType, has a missing or
//     malformed required field of a chat type (an id, messageId included, of 0 or
//     below is malformed; the message names the field), or is over the size limit
//     (1 MiB by default, [WithMaxBodySize]);
//   - answers 500 UNKNOWN when the body cannot be read in full (the connection was
//     reset or cut short, or the server's ReadTimeout ended it): that is the
//     receiver's failure, not a malformed notification, and the Market sends it
//     again;
//   - answers 200 for types it does not decode (unless [OnOther] or [OnNotification]
//     fails), for types with no function set, and for repeats ([WithDedup]): the
//     vendor says repeats are normal, and anything but 200 shows as an error in the
//     seller's cabinet, so DUPLICATED_EVENT is never sent;
//   - answers 500 UNKNOWN when the user's function returns an error, panics (the
//     panic is logged with its stack; the server keeps running) or does not return
//     within its timeout ([DefaultTimeout], at most [MaxTimeout]): the answer goes out
//     at the deadline and the function's context is cancelled;
//   - answers 403 to callers outside [WithAllowedNetworks] and 405 (Allow: POST) to
//     other methods.
//
// With [WithDedup], a success is remembered whenever the function returns nil, even
// after a 500 went out at the deadline or the Market hung up, so the retry is
// answered 200 without running the function again. Repeats of a notification whose
// function is running coalesce: they wait for that one run (each within its own
// timeout, else 500) and get its answer, 200 on success and 500 on failure (the
// Market then retries, and a later delivery runs the function again). The set holds
// at most n entries of a fixed size each (a 16-byte digest, whatever the size of the
// ids), so it is bounded in count and in bytes, and it takes memory as it fills.
//
// Every answer is application/json and matches [OpenAPI], the package's own
// description of the endpoint.
//
// # Decoding by hand
//
// The types are written by hand rather than generated with oapi-codegen from
// [OpenAPI]. The generator turns a oneOf with a discriminator into an opaque union
// (json.RawMessage plus As…/From… methods), does not enforce required properties or
// minimums (encoding/json takes a missing chatId as 0), and would make messageId a
// plain string that rejects the integer getChatMessage actually uses. The hand
// decoder ([Decode]) is about a hundred lines, checks every required field with a
// message naming it, accepts messageId as a string or an integer and keeps it as
// sent ([MessageID]), lets unknown types through as [Other], and is fuzzed. It checks
// the syntax of the whole body with a scanner of its own, as encoding/json refuses
// any document nested deeper than 10000 levels even where nobody reads it. The tests
// keep it and [OpenAPI] in step by validating fixtures and every answer against the
// description with kin-openapi, which the package itself does not import.
package notify
