package bench

import "testing"

// Per-call overhead against the hand-written baseline, on a loopback server that
// answers at once.
func BenchmarkCallOverhead(b *testing.B) {
	for _, op := range []string{"createChat", "getChat", "getChats"} {
		b.Run(op+"/baseline", func(b *testing.B) { Overhead(b, op, false) })
		b.Run(op+"/chatclient", func(b *testing.B) { Overhead(b, op, true) })
	}
}

// Iterating 10,000 chats (500 pages) from chattest; 1,000 chats too, to show the live
// heap does not grow with the total.
func BenchmarkIterate(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		name := map[int]string{1000: "1k", 10000: "10k"}[n]
		b.Run(name+"/baseline", func(b *testing.B) { Iterate(b, n, false, false) })
		b.Run(name+"/chatclient", func(b *testing.B) { Iterate(b, n, true, false) })
		b.Run(name+"/heap/baseline", func(b *testing.B) { Iterate(b, n, false, true) })
		b.Run(name+"/heap/chatclient", func(b *testing.B) { Iterate(b, n, true, true) })
	}
}

// 1,000 getChats calls from 16 goroutines into a quota of 200 a second and the
// parallel limit of 4: chatclient against the naive policy.
func BenchmarkQuota(b *testing.B) {
	b.Run("naive", func(b *testing.B) { ReportQuota(b, false) })
	b.Run("chatclient", func(b *testing.B) { ReportQuota(b, true) })
}

// Reading a 5,000-message history (50 pages) against a hand-written page loop.
func BenchmarkHistory(b *testing.B) {
	b.Run("baseline", func(b *testing.B) { IterateHistory(b, 5000, false, false) })
	b.Run("chatclient", func(b *testing.B) { IterateHistory(b, 5000, true, false) })
	b.Run("heap/baseline", func(b *testing.B) { IterateHistory(b, 5000, false, true) })
	b.Run("heap/chatclient", func(b *testing.B) { IterateHistory(b, 5000, true, true) })
}

// Sending a 5 MiB file: from a source read at any offset (no copy) and from a plain
// stream (read once into memory).
func BenchmarkSendFile(b *testing.B) {
	b.Run("readerat", func(b *testing.B) { SendFile(b, true) })
	b.Run("stream", func(b *testing.B) { SendFile(b, false) })
}
