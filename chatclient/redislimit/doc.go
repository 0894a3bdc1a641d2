// Package redislimit shares the Market's limits of a business between processes
// through Redis: the 4 requests in flight and the hourly quota of each operation. A
// [Limiter] is a [chatclient.Limits], the client's one seam to a store of limits; give
// one to every client on the same token:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	lim, err := redislimit.New(rdb, redislimit.WithFleetSize(4))
//	...
//	defer lim.Close()
//	client, err := chatclient.New(chatclient.APIKey(key), chatclient.WithLimits(lim))
//
// Admit runs one script that takes a slot and a place in the quota, both or neither;
// Done runs one that gives back exactly what the ticket names (Slot is the slot's id in
// Redis, Place the place's) and records what the answer said of the quota. So a call
// costs two round trips, plus one each time a caller waiting for a slot asks again and
// a renewal every third of the lease TTL for a long request. The script is limiter.lua,
// beside this file; all keys of a business share the hash tag {<business>}, so it runs
// on Redis Cluster. The Limiter composes small types that each own their state: health
// (is Redis there: the fallback and the probe), renewals (the slots of running
// requests) and the fair wait for a slot (wait.go).
//
// A slot lives a lease TTL (default 2 s) on the Redis server's clock unless renewed, so
// the slots of a process that dies come back within it. Callers that find every slot
// taken wait in the business's queue in Redis, in order of arrival whatever their
// process, asking again after a pause that grows with the callers ahead (5 to 50 ms,
// jittered): a process whose calls are slow is not starved by one that frees and
// retakes slots quickly, and a waiter that stops asking leaves the queue within a
// second and two op timeouts. A quota's window (until on the Market's clock, remaining,
// limit) follows [chatclient.NewLocalLimits]'s rules for the whole fleet: one process's
// 420 stops the others until the reset, and a caller waiting for a reset asks again
// from 1.2 s before its own estimate of it, so that it goes as soon as any process has
// recorded the new window.
//
// Every Redis call is bounded by the op timeout (default 200 ms) and the caller's
// deadline, and so is every wait, even while Redis hangs; this needs a client that
// honours deadlines (ContextTimeoutEnabled). What a call cut short may hold in Redis is
// given back in the background. When a Redis call fails the Limiter logs one warning and
// serves from [chatclient.NewLocalLimits] with this process's share of the slots,
// ceil(max in flight / fleet size) ([WithFleetSize]); after the probe interval (default
// 3 s) one call tries Redis again, and when it answers the Limiter goes back to it,
// logged at Info. A ticket goes back where it was taken: the fallback's carry the slot
// id "local". A Redis that refuses the Limiter (a wrong or missing password, an ACL
// user without +@scripting or ~<prefix>*) is no outage: New, or the call, returns an
// error wrapping [ErrRefused].
package redislimit
