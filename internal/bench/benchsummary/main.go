// Command benchsummary reads `go test -bench` output of package internal/bench from
// standard input, prints the three comparisons against their baselines as Markdown,
// and with -check exits 1 when a figure misses its goal.
//
//	go test -run '^$' -bench . ./internal/bench | go run ./internal/bench/benchsummary -check
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runs holds every value of every metric of every benchmark, by name without the
// -GOMAXPROCS suffix.
type runs map[string]map[string][]float64

func parse(r io.Reader) (runs, []string, error) {
	out := runs{}
	var header []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		for _, k := range []string{"goos:", "goarch:", "cpu:"} {
			if strings.HasPrefix(line, k) && !slices.Contains(header, line) {
				header = append(header, line)
			}
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
		}
		if out[name] == nil {
			out[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %q: %v", name, f[i], err)
			}
			out[name][f[i+1]] = append(out[name][f[i+1]], v)
		}
	}
	return out, header, sc.Err()
}

// median of a benchmark's metric; ok false when it is missing.
func (r runs) median(name, unit string) (float64, bool) {
	vs := slices.Clone(r[name][unit])
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}

// pairedRatio is the median of num[i]/den[i] over the runs, pairing each run of one
// benchmark with the run of the other made next to it (they alternate), so that a
// drift in the machine's speed cancels out; ok false when either is missing.
func (r runs) pairedRatio(num, den, unit string) (float64, bool) {
	a, b := r[num][unit], r[den][unit]
	n := min(len(a), len(b))
	if n == 0 {
		return 0, false
	}
	ratios := make([]float64, n)
	for i := range n {
		ratios[i] = a[i] / b[i]
	}
	slices.Sort(ratios)
	if n%2 == 1 {
		return ratios[n/2], true
	}
	return (ratios[n/2-1] + ratios[n/2]) / 2, true
}

type report struct {
	w      io.Writer
	failed []string
	r      runs
}

func (rep *report) get(name, unit string) float64 {
	v, ok := rep.r.median(name, unit)
	if !ok {
		rep.failed = append(rep.failed, fmt.Sprintf("missing %s %s in the input", name, unit))
	}
	return v
}

func (rep *report) ratio(num, den, unit string) float64 {
	v, ok := rep.r.pairedRatio(num, den, unit)
	if !ok {
		rep.failed = append(rep.failed, fmt.Sprintf("missing %s or %s %s in the input", num, den, unit))
	}
	return v
}

func (rep *report) goal(ok bool, format string, a ...any) string {
	if ok {
		return "met"
	}
	rep.failed = append(rep.failed, fmt.Sprintf(format, a...))
	return "**missed**"
}

func main() {
	check := flag.Bool("check", false, "exit 1 when a figure misses its goal")
	outFile := flag.String("o", "", "also write the Markdown report to this file")
	cmdline := flag.String("cmd", "make bench", "the command that produced the input, for the report")
	flag.Parse()

	r, header, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsummary:", err)
		os.Exit(2)
	}
	var b strings.Builder
	rep := &report{w: &b, r: r}
	write(rep, header, *cmdline)
	fmt.Print(b.String())
	if *outFile != "" {
		if err := os.WriteFile(*outFile, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchsummary:", err)
			os.Exit(2)
		}
	}
	if len(rep.failed) > 0 {
		fmt.Fprintln(os.Stderr, "\nGoals missed:")
		for _, f := range rep.failed {
			fmt.Fprintln(os.Stderr, "- "+f)
		}
		if *check {
			os.Exit(1)
		}
	} else if *check {
		fmt.Fprintln(os.Stderr, "\nbench-check: every goal met")
	}
}

func write(rep *report, header []string, cmdline string) {
	w := rep.w
	for i := range header {
		header[i] = strings.Join(strings.Fields(header[i]), " ")
	}
	fmt.Fprintf(w, "# Benchmarks\n\nMade with `%s` on %s (%d cores), %s, %s.\n", cmdline, strings.Join(header, ", "), runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "Each figure is the median of the runs in the input (20 for the overhead, 11 for iteration and history, 3 for the fleet, 5 for Redis, with\nbaseline and chatclient alternating); every comparison is against a\nbaseline measured in the same run. `make bench-check` fails when a goal is missed.\n\n")

	fmt.Fprintf(w, "## 1. Per-call overhead\n\nchatclient against the honest floor: a hand-written `net/http` + `encoding/json` client\ndecoding into plain structs (no optional pointers, no validation, retries or limits), on\na loopback server that answers at once (so the client's own cost shows). The time ratio\nis the median of paired ratios (each chatclient run against the baseline run next to\nit). Goal: time ≤ 1.15× the floor, allocations ≤ 1.20× the floor's.\n\n")
	fmt.Fprintf(w, "| operation | floor ns/op | chatclient ns/op | time ratio (paired) | floor allocs | chatclient allocs | alloc ratio | floor B/op | chatclient B/op | goal |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, op := range []string{"createChat", "getChat", "getChats"} {
		base, cli := "BenchmarkCallOverhead/"+op+"/baseline", "BenchmarkCallOverhead/"+op+"/chatclient"
		bt, ct := rep.get(base, "ns/op"), rep.get(cli, "ns/op")
		ba, ca := rep.get(base, "allocs/op"), rep.get(cli, "allocs/op")
		bb, cb := rep.get(base, "B/op"), rep.get(cli, "B/op")
		ratio := rep.ratio(cli, base, "ns/op")
		g := rep.goal(ratio <= 1.15 && ca <= 1.20*ba, "%s: time %.3f× (goal ≤ 1.15), allocs %.2f× (goal ≤ 1.20)", op, ratio, ca/ba)
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.3f× | %.0f | %.0f | %.2f× | %.0f | %.0f | %s |\n", op, bt, ct, ratio, ba, ca, ca/ba, bb, cb, g)
	}

	fmt.Fprintf(w, "\n## 2. Iterating every chat\n\n`Chats()` over all chats of chattest (20 a page) against a hand-written page loop.\nThe peak live heap is what the iteration adds, sampled after a forced GC every 25 pages.\nGoal: throughput ≥ 0.95× the loop; the live heap bounded by a few pages (≤ 1 MiB) and\nnot growing with the total (10k ≤ 2× 1k).\n\n")
	fmt.Fprintf(w, "| chats | baseline chats/s | chatclient chats/s | ratio | baseline peak live heap | chatclient peak live heap | goal |\n|---|---|---|---|---|---|---|\n")
	heap := map[string]float64{}
	for _, n := range []string{"1k", "10k"} {
		bs, cs := rep.get("BenchmarkIterate/"+n+"/baseline", "chats/s"), rep.get("BenchmarkIterate/"+n+"/chatclient", "chats/s")
		pr := rep.ratio("BenchmarkIterate/"+n+"/chatclient", "BenchmarkIterate/"+n+"/baseline", "chats/s")
		bh, ch := rep.get("BenchmarkIterate/"+n+"/heap/baseline", "peak-live-heap-B"), rep.get("BenchmarkIterate/"+n+"/heap/chatclient", "peak-live-heap-B")
		heap[n] = ch
		ok := pr >= 0.95 && ch <= 1<<20
		if n == "10k" {
			ok = ok && ch <= 2*heap["1k"]
		}
		g := rep.goal(ok, "iterate %s: %.3f× the loop (goal ≥ 0.95), peak live heap %.0f B (1k: %.0f B)", n, pr, ch, heap["1k"])
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.3f× | %.0f KiB | %.0f KiB | %s |\n", n, bs, cs, pr, bh/1024, ch/1024, g)
	}

	fmt.Fprintf(w, "\n## 3. Quota efficiency\n\n1,000 getChats calls from 16 goroutines through one client, against chattest with a\nquota of 200 per 1-second window and the parallel limit of 4, started at the top of a\nsecond. The minimum the quota allows is 4 s (the fifth batch of 200 starts after four\nwindows). The peer baseline is the naive policy: retry any 420 after a fixed 1 s sleep,\nno in-flight limit. Goal: no caller-visible error, 420s ≤ 2%% of requests, wall time ≤\n1.10× the minimum, and better than the naive policy on both.\n\n")
	fmt.Fprintf(w, "| policy | wall | minimum | wall / minimum | 420s sent by the server | 420s / calls | caller errors |\n|---|---|---|---|---|---|---|\n")
	fig := map[string][5]float64{}
	for _, p := range []string{"naive", "chatclient"} {
		name := "BenchmarkQuota/" + p
		f := [5]float64{rep.get(name, "wall-s"), rep.get(name, "min-s"), rep.get(name, "x-min"), rep.get(name, "420s"), rep.get(name, "caller-errors")}
		fig[p] = f
		fmt.Fprintf(w, "| %s | %.3f s | %.0f s | %.3f× | %.0f | %.1f%% | %.0f |\n", p, f[0], f[1], f[2], f[3], f[3]/10, f[4])
	}
	c, n := fig["chatclient"], fig["naive"]
	// Both policies can reach the quota's minimum, which bounds the wall time: chatclient
	// must not be slower than the naive policy by more than the noise (2%).
	g := rep.goal(c[4] == 0 && c[3] <= 20 && c[2] <= 1.10 && c[0] <= 1.02*n[0] && c[3] < n[3],
		"quota: errors %.0f, 420s %.0f (naive %.0f), wall %.3fs = %.3f× the minimum (naive %.3fs)", c[4], c[3], n[3], c[0], c[2], n[0])
	fmt.Fprintf(w, "\nGoal: %s.\n", g)

	fmt.Fprintf(w, "\n## 4. Reading a chat's history\n\n`Messages()` over a 5,000-message chat of chattest (100 a page) against a hand-written\npage loop decoding plain structs. Goal: throughput ≥ 0.95× the loop (median of paired\nratios); the live heap bounded by a few pages (≤ 1 MiB).\n\n")
	fmt.Fprintf(w, "| floor messages/s | chatclient messages/s | ratio (paired) | floor peak live heap | chatclient peak live heap | goal |\n|---|---|---|---|---|---|\n")
	hb, hc := rep.get("BenchmarkHistory/baseline", "messages/s"), rep.get("BenchmarkHistory/chatclient", "messages/s")
	hr := rep.ratio("BenchmarkHistory/chatclient", "BenchmarkHistory/baseline", "messages/s")
	hhb, hhc := rep.get("BenchmarkHistory/heap/baseline", "peak-live-heap-B"), rep.get("BenchmarkHistory/heap/chatclient", "peak-live-heap-B")
	g = rep.goal(hr >= 0.95 && hhc <= 1<<20, "history: %.3f× the loop (goal ≥ 0.95), peak live heap %.0f B", hr, hhc)
	fmt.Fprintf(w, "| %.0f | %.0f | %.3f× | %.0f KiB | %.0f KiB | %s |\n", hb, hc, hr, hhb/1024, hhc/1024, g)

	fmt.Fprintf(w, "\n## 5. Sending a 5 MiB file\n\n`SendFile` of a 5 MiB file to a server that discards it: bytes the client allocates per\nsend, as a multiple of the file's size. From a source read at any offset (an `*os.File`,\na `*bytes.Reader`) nothing is copied; a plain stream is read once, in chunks. Goal: a\nstream ≤ 1.5× the file (one copy, no second), a ReaderAt source ≤ 0.1×.\n\n")
	fmt.Fprintf(w, "| source | MB/s | allocated per send | goal |\n|---|---|---|---|\n")
	for _, src := range []string{"readerat", "stream"} {
		x, mbs := rep.get("BenchmarkSendFile/"+src, "alloc-x-file"), rep.get("BenchmarkSendFile/"+src, "MB/s")
		limit := 1.5
		if src == "readerat" {
			limit = 0.1
		}
		g := rep.goal(x <= limit, "send file from %s: %.3f× the file (goal ≤ %.1f×)", src, x, limit)
		fmt.Fprintf(w, "| %s | %.0f | %.3f× the file | %s |\n", src, mbs, x, g)
	}

	fmt.Fprintf(w, "\n## 6. A fleet on one key\n\nMade by `make bench-fleet` (part of `make bench`): 4 OS processes (4 goroutines each),\n400 getChat calls on one business against chattest at 20 ms a request, a quota of 100\nper 1-second window and the parallel limit of 4; limits shared through one real\n`redis-server` (package redislimit), or each process on its own in-process limits.\nGoal with Redis: 0 parallel-limit 420s, 0 caller errors, wall ≤ 1.10× the minimum;\n≤ 2 Redis round trips per admitted call (slot and place taken, then given back with\nthe answer's report), its time shown beside a loopback round trip.\n\n")
	fmt.Fprintf(w, "| limits | parallel-limit 420s | quota 420s | caller errors | requests | wall | minimum | wall / minimum |\n|---|---|---|---|---|---|---|---|\n")
	for _, mode := range []string{"shared", "local"} {
		name := "BenchmarkFleet/" + mode
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f | %.0f | %.3f s | %.1f s | %.3f× |\n", mode, rep.get(name, "parallel-420s"), rep.get(name, "quota-420s"),
			rep.get(name, "caller-errors"), rep.get(name, "requests"), rep.get(name, "wall-s"), rep.get(name, "min-s"), rep.get(name, "x-min"))
	}
	sp, se, sx := rep.get("BenchmarkFleet/shared", "parallel-420s"), rep.get("BenchmarkFleet/shared", "caller-errors"), rep.get("BenchmarkFleet/shared", "x-min")
	us, trips := rep.get("BenchmarkOverhead/Call", "µs/call"), rep.get("BenchmarkOverhead/Call", "round-trips/call")
	rtt := rep.get("BenchmarkOverhead/RTT", "µs/call")
	g = rep.goal(sp == 0 && se == 0 && sx <= 1.10 && trips <= 2, "fleet: shared 420s %.0f, errors %.0f, wall %.3f× the minimum, %.2f Redis round trips a call", sp, se, sx, trips)
	fmt.Fprintf(w, "\nRedis's cost per admitted call, calls back to back (`BenchmarkOverhead`): %.2f round trips (Admit's script, then Done's), %.0f µs a call beside %.0f µs for a PING on the same loopback (%.1f round trips' worth). Goal: %s.\n", trips, us, rtt, us/max(rtt, 1), g)

	fmt.Fprintf(w, "\n## 7. Sending through real faults\n\n`BenchmarkSendUnderFaults` (package chatclient, one run of the soak that `make test` runs\nas `TestSendUnderRandomFaults`): 320 messages and files (one in four a file) from 8\ngoroutines through a fault proxy on loopback (per connection: 10%% latency, 7%% reset\nbefore the request, 8%% answer cut after 1–200 bytes, 5%% request cut, 2%% black hole), a\ngateway that answers 504 for one request in seven while the Market goes on, and a fake\nMarket that is itself slow, failing or dropping answers for 10%% of requests. Every call\nis judged by what the fake Market holds: nil → exactly one copy; maybe delivered → zero\nor one, and `Delivered` settles it later in agreement with the chat; any other error →\nnone. Goal: 0 duplicates, 0 lost acks, 0 silent losses, 0 wrong settlements. The\nmaybe-delivered sends are those the Market certainly did not act on but the client could\nnot know it (a reset or cut request after it left, a 503 or a dropped connection before\nthe Market acted): the rule allows no fewer.\n\n")
	fmt.Fprintf(w, "| sends | nil | maybe delivered | of which landed | failed | duplicates | lost acks | silent losses | wrong settlements | gateway 504s | goal |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	sf := "BenchmarkSendUnderFaults"
	sends, maybe := rep.get(sf, "sends"), rep.get(sf, "maybe-delivered")
	dup, lost, silent, wrong := rep.get(sf, "duplicates"), rep.get(sf, "lost-acks"), rep.get(sf, "silent-losses"), rep.get(sf, "wrong-settlements")
	g = rep.goal(dup == 0 && lost == 0 && silent == 0 && wrong == 0, "send under faults: %.0f duplicates, %.0f lost acks, %.0f silent losses, %.0f wrong settlements", dup, lost, silent, wrong)
	fmt.Fprintf(w, "| %.0f | %.0f | %.0f (%.1f%%) | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %s |\n", sends, rep.get(sf, "nil"), maybe, 100*maybe/max(sends, 1),
		rep.get(sf, "maybe-landed"), rep.get(sf, "failed"), dup, lost, silent, wrong, rep.get(sf, "gateway-504s"), g)

	writeInbox(rep)
}

// writeInbox is the inbox's section: each figure against its floor from the same run.
func writeInbox(rep *report) {
	w := rep.w
	fmt.Fprintf(w, "\n## 8. The inbox\n\nPackage inbox (`chatclient/inbox`) against chattest, each figure beside its floor from the same run.\n\n")

	cu := "BenchmarkCatchUp"
	gc, gh, floor, x := rep.get(cu, "getChats/op"), rep.get(cu, "getChatHistory/op"), rep.get(cu, "floor-calls/op"), rep.get(cu, "x-floor")
	g := rep.goal(x <= 1.05, "catch-up: %.3f× the minimum calls (goal ≤ 1.05)", x)
	fmt.Fprintf(w, "**Catching up after downtime** (`BenchmarkCatchUp`): 2,000 chats, 100 of which gained a sticker (no push) while the inbox was down; one `Inbox.Once`. The floor is the minimum any client pays: ⌈2000/20⌉ getChats and one history page per changed chat. Goal: ≤ 1.05× the floor.\n\n")
	fmt.Fprintf(w, "| getChats | getChatHistory | floor (calls) | calls / floor | goal |\n|---|---|---|---|---|\n| %.0f | %.0f | %.0f | %.3f× | %s |\n\n", gc, gh, floor, x, g)

	pt := "BenchmarkPushToHandler"
	p50, p99, f50, f99 := rep.get(pt, "push-p50-ms"), rep.get(pt, "push-p99-ms"), rep.get(pt, "floor-p50-ms"), rep.get(pt, "floor-p99-ms")
	g = rep.goal(p50 <= 1.10*f50 && p99 <= 1.25*f99, "push to handler: p50 %.2f ms against %.2f, p99 %.2f against %.2f", p50, f50, p99, f99)
	fmt.Fprintf(w, "**A push reaching the handler** (`BenchmarkPushToHandler`, 200 pushes one after another): from posting a CHAT_MESSAGE_SENT to the inbox's receiver to the message reaching the handler, against a fake that takes 20 ms a request. The floor is one history read of the same chat by a plain client call: the least any client pays to learn what a push announced. Goal: within one history round trip of the push: the median ≤ 1.10× the floor's, the p99 ≤ 1.25×.\n\n")
	fmt.Fprintf(w, "| | median | p99 |\n|---|---|---|\n| push → handler | %.2f ms | %.2f ms |\n| one history read (floor) | %.2f ms | %.2f ms |\n| ratio | %.3f× | %.3f× |\n\nGoal: %s.\n\n", p50, p99, f50, f99, p50/max(f50, 1e-9), p99/max(f99, 1e-9), g)

	ss := "BenchmarkSteadyState"
	sc, sh, share, pushes := rep.get(ss, "getChats-share"), rep.get(ss, "getChatHistory-share"), rep.get(ss, "share-goal"), rep.get(ss, "pushes")
	g = rep.goal(sc <= share && sh <= share, "steady state: getChats %.3f, getChatHistory %.3f of the quota (share %.2f)", sc, sh, share)
	fmt.Fprintf(w, "**Steady state with pushes working** (`BenchmarkSteadyState`): 2,000 chats for five hours of the fake's time (an injected clock), customers writing 600 messages an hour, each announced by a push; spending measured over the last three hours (a new store's catch-up settles in the first two). History reads include the pushes' own. Goal: each at most the configured share of its hourly quota.\n\n")
	fmt.Fprintf(w, "| pushes | getChats / hourly quota | getChatHistory / hourly quota | configured share | goal |\n|---|---|---|---|---|\n| %.0f | %.3f | %.3f | %.2f | %s |\n\n", pushes, sc, sh, share, g)

	fmt.Fprintf(w, "**Memory over 100,000 chats** (`BenchmarkStateBytesPerChat`): the heap an inbox with a `MemoryStore` keeps per chat after handing over every chat of a business (after a GC), and what a later sweep that finds nothing new allocates per chat, beside its floor from the same run: a plain listing of every chat by the client. Both allocation figures include the in-process fake's; the difference is the inbox's own. Goal: flat: at 100,000 chats no more per chat than at 10,000 (within 10%%, or 16 B for the inbox's own allocations).\n\n")
	fmt.Fprintf(w, "| chats | kept per chat | a sweep allocates per chat | a plain listing (floor) | the inbox's own |\n|---|---|---|---|---|\n")
	kept, own := map[string]float64{}, map[string]float64{}
	for _, n := range []string{"1000", "10000", "100000"} {
		name := "BenchmarkStateBytesPerChat/chats=" + n
		swept, listed := rep.get(name, "sweep-alloc-B/chat"), rep.get(name, "list-alloc-B/chat")
		kept[n], own[n] = rep.get(name, "kept-B/chat"), swept-listed
		fmt.Fprintf(w, "| %s | %.0f B | %.0f B | %.0f B | %.0f B |\n", n, kept[n], swept, listed, own[n])
	}
	g = rep.goal(kept["100000"] <= 1.10*kept["10000"] && own["100000"] <= max(1.10*own["10000"], own["10000"]+16),
		"memory: kept %.0f B a chat at 100k against %.0f at 10k; the inbox's own allocations %.0f against %.0f", kept["100000"], kept["10000"], own["100000"], own["10000"])
	fmt.Fprintf(w, "\nGoal: %s. (At 1,000 chats the fixed cost of the client and the inbox shows per chat.)\n", g)
}
