// Package inbox turns the chats of a Yandex Market business into a stream of events —
// a new chat, each new message, a status change, a dispute started or finished — for
// a handler, with the promise a support desk makes: every message a customer writes
// reaches a person, once.
//
// The Market offers no event log and no "changed since" query, and its pushes
// (package [github.com/ymchat/ymchat/chatclient/notify]) are at least once, may be
// lost, and are never sent for stickers or status changes. So the inbox has two
// paths to the same place:
//
//   - Push, the fast path: [NotifyOptions] makes a notify.Handler mark the chat
//     dirty in the [Store] and wake it; the chat's history is then read once from its
//     cursor. The push is answered 200 only once the mark is stored.
//   - Pull, the safety net: [Inbox.Sweep] lists every chat to the last page and
//     compares each chat's status and updatedAt (the time of its last message) with
//     the store; a chat that changed, or that a push marked, has its history read
//     from the cursor to the end. [Inbox.Run] sweeps as often as a share of each
//     hourly quota allows ([WithShare], a fifth by default): with the getChats quota
//     of 10,000 an hour, 2,000 chats (100 pages) are swept every three minutes.
//
// Wired up:
//
//	client, _ := chatclient.New(chatclient.APIKey(key))
//	store, _ := boltstore.Open("inbox.db")
//	defer store.Close()
//	ib, _ := inbox.New(client, businessID, store, desk.Put) // desk.Put is idempotent by chat and message id
//	h, _ := notify.NewHandler(inbox.NotifyOptions(ib)...)
//	http.Handle("/notification", h)
//	go ib.Run(ctx)
//
// A job run from cron calls [Inbox.Once] instead: one sweep, every chat it finds
// changed handed over, and a [Report] of what was done and what was held back.
//
// # Delivery
//
// Each chat has a durable cursor in the store: the id of the last message handed
// over, and the status, dispute and updatedAt last known. The cursor moves after the
// handler returns nil, never before, so every event reaches the handler at least
// once. The events of one chat come in order (messages by id; a new chat before its
// messages; its status and dispute after them), one at a time; chats are handled in
// parallel ([WithWorkers]). A handler that fails, or a read that fails, holds back
// that chat only: it is tried again after a backoff that doubles up to
// [WithBackoff]'s longest, while the other chats go on.
//
// What "once" survives: stopping [Inbox.Run] (its context ends) and starting it
// again on the same store hands over nothing twice and misses nothing — a handler
// that succeeded has its event saved even as the inbox stops, and a chat marked by a
// push but not yet read is read by the next run. A crash of the process (or of the
// store) between the handler's success and the save hands that one event over again
// after the restart: the handler must be idempotent (a NewMessage by its
// Message.ID) for the desk to see each event exactly once. A [MemoryStore] survives
// nothing: after a restart every chat is new again.
//
// A new store knows no chat: the first run hands over every chat of the business and
// its whole history, oldest first, and from then on only what is new.
//
// Status changes are what the inbox saw: a chat that moves A to B and back to A
// between two looks shows no change, and one that moves A to B to C shows A to C.
// Messages are never folded: the history holds each.
//
// # The sweep
//
// The sweep does not rely on the listing's order (the Market states none) and survives
// chats that change while it pages: the client yields each chat once, and a chat the
// Market's paging skips is found by the next sweep. It reads the history only of chats
// that changed, so catching up after downtime costs a getChats page per 20 chats plus
// the history pages of the chats that changed. The Market reads a history "from
// messageIdFrom", which may include that message, so ids at or below the cursor are
// skipped. updatedAt has one-second precision: a chat whose last message is dated
// within [DefaultMargin] of the last read's start is read again, so a message
// written in the second a read began is not taken for one already read. That costs a
// chat read within a second or two of its last message (as a push makes it) one more
// history read on the next sweep, and nothing after.
//
// # Stores
//
// A [Store] is a small interface: load and save a chat's state, mark a chat dirty,
// list the dirty ones. [MemoryStore] is for tests. Package boltstore keeps the state
// in a file for one process, with go.etcd.io/bbolt: each save is a transaction, so a
// crash never leaves a half-written state; only the chat's record is written, not a
// whole JSON file rewritten on every handled message; no cgo, no server. Package
// redisstore keeps it in Redis for a fleet, and implements [Leases]: a chat is
// handled by one process at a time, one process sweeps a business, and a dead
// process's leases expire within seconds. Each is a package of its own, so users of
// chatclient alone build none of them. Package storetest checks a store against the
// contract.
package inbox
