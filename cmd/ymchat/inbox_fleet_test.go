package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/internal/redistest"
)

// fleetSeed seeds the customers' writing in TestInboxFleet.
const fleetSeed = 20261202

// fleetLine is one event a process of the fleet printed, when the test read it.
type fleetLine struct {
	proc int
	at   time.Time
	l    inboxLine
}

// fleetLog gathers what the processes of a fleet print, and wakes a waiter on each line.
type fleetLog struct {
	mu     sync.Mutex
	lines  []fleetLine
	stderr [][]string
	bad    []string
	wake   chan struct{}
	// onLine, when set, sees each line as it is read, under mu.
	onLine func(fleetLine)
}

func (f *fleetLog) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// collect reads a process's stdout (JSON lines) and stderr until they close.
func (f *fleetLog) collect(proc int, p *process) {
	go func() {
		for s := range p.stdout {
			var l inboxLine
			err := json.Unmarshal([]byte(s), &l)
			f.mu.Lock()
			if err != nil {
				f.bad = append(f.bad, fmt.Sprintf("process %d: %q: %v", proc, s, err))
			} else {
				fl := fleetLine{proc: proc, at: time.Now(), l: l}
				f.lines = append(f.lines, fl)
				if f.onLine != nil {
					f.onLine(fl)
				}
			}
			f.mu.Unlock()
			f.signal()
		}
	}()
	go func() {
		for s := range p.stderr {
			f.mu.Lock()
			f.stderr[proc] = append(f.stderr[proc], s)
			f.mu.Unlock()
		}
	}()
}

// until waits, a generous bound at most, for cond to hold of the lines printed so far.
func (f *fleetLog) until(t *testing.T, what func() string, bound time.Duration, cond func(lines []fleetLine) bool) {
	t.Helper()
	timeout := time.After(bound)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		f.mu.Lock()
		ok := cond(f.lines)
		n := len(f.lines)
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-f.wake:
		case <-tick.C:
		case <-timeout:
			f.mu.Lock()
			defer f.mu.Unlock()
			for i, e := range f.stderr {
				t.Logf("process %d stderr:\n%s", i, strings.Join(e, "\n"))
			}
			t.Fatalf("after %s and %d lines printed: %s", bound, n, what())
		}
	}
}

// printedIDs is the set of message ids printed by any process.
func printedIDs(lines []fleetLine) map[int64]bool {
	ids := map[int64]bool{}
	for _, fl := range lines {
		if fl.l.Kind == "NewMessage" && fl.l.Message != nil {
			ids[fl.l.Message.ID] = true
		}
	}
	return ids
}

// writtenIDs is every message the fake holds in business 100, the ground truth.
func writtenIDs(srv *chattest.Server) []int64 {
	var ids []int64
	for _, e := range srv.Events() {
		if e.Kind == chattest.EventMessageWritten && e.BusinessID == 100 {
			ids = append(ids, e.MessageID)
		}
	}
	return ids
}

// covered says whether every message written so far was printed by some process; it
// returns the missing ones otherwise.
func covered(srv *chattest.Server, lines []fleetLine) []int64 {
	got := printedIDs(lines)
	var missing []int64
	for _, id := range writtenIDs(srv) {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	return missing
}

// TestInboxFleet runs `ymchat inbox` as a fleet: three OS processes sharing a real
// redis-server, fed by the fake Market's pushes, while customers write in 20 chats
// (stickers too, which no push announces). One process is killed with SIGKILL once it
// has printed some of that work; the other two must take its chats over when its
// leases expire. The fake's event log is the judge: every message is printed by some
// process, in order within a process, and a message is printed twice only if the
// killed process printed it (at least once: its last events may not have been saved).
func TestInboxFleet(t *testing.T) {
	ymchatBinary(t) // built before the clock of any wait starts
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("needs redis-server")
	}
	rs, err := redistest.Start()
	require.NoError(t, err)
	t.Cleanup(rs.Stop)
	if rs.Embedded {
		t.Skip("needs redis-server")
	}

	// The fake on the real clock: the sweeps compare updatedAt with the time of reads.
	srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithToken(token))
	t.Cleanup(srv.Close)
	fixture := len(writtenIDs(srv))

	dir := t.TempDir()
	env := []string{"YM_API_KEY=" + token, "YM_PROFILE=", "YM_BASE_URL=", "YM_BUSINESS_ID=", "YM_REDIS_URL=",
		"XDG_CONFIG_HOME=" + dir, "XDG_CACHE_HOME=" + dir}
	const n = 3
	log := &fleetLog{wake: make(chan struct{}, 1), stderr: make([][]string, n)}
	procs := make([]*process, n)
	listening := regexp.MustCompile(`listening on (http://\S+)`)
	for i := range procs {
		procs[i] = start(t, env, "inbox", "--redis", "redis://"+rs.Addr+"/0", "--base-url", srv.URL,
			"--business", "100", "--listen", "127.0.0.1:0")
		addr := waitLine(t, procs[i].stderr, listening)[1]
		log.collect(i, procs[i])
		require.NoError(t, srv.RegisterReceiver(addr+"/notification"))
	}

	// The first sweep (by whichever process took its lease) hands the fixture over.
	log.until(t, func() string { return "not all the fixture's messages printed" }, 60*time.Second, func(lines []fleetLine) bool {
		return len(covered(srv, lines)) == 0
	})
	log.mu.Lock()
	caughtUp := len(log.lines)
	log.mu.Unlock()

	var chats []int64
	for _, e := range srv.Events() {
		if e.Kind == chattest.EventChatCreated && e.BusinessID == 100 {
			chats = append(chats, e.ChatID)
		}
	}
	slices.Sort(chats)
	rng := rand.New(rand.NewPCG(fleetSeed, 0))
	rng.Shuffle(len(chats), func(i, j int) { chats[i], chats[j] = chats[j], chats[i] })
	chats = chats[:20]
	written := 0
	write := func(chat int64, sticker bool) {
		t.Helper()
		var err error
		if sticker {
			_, err = srv.CustomerSendsSticker(100, chat)
		} else {
			_, err = srv.CustomerWrites(100, chat, fmt.Sprintf("fleet message %d", written))
		}
		require.NoError(t, err)
		written++
	}
	firstNew := int64(0)
	for _, id := range writtenIDs(srv) {
		firstNew = max(firstNew, id+1)
	}

	// Phase one: a customer writes 40 messages in one chat, whose history then takes
	// pages to read, and others write in the rest. The process that prints the fifth
	// of that chat's new messages is killed as the test reads it, most likely in the
	// middle of the read, holding the chat's lease.
	hot := chats[0]
	victim := -1
	var killedAt time.Time
	killed := make(chan error, 1)
	count := make([]int, n)
	log.mu.Lock()
	log.onLine = func(fl fleetLine) {
		if victim >= 0 || fl.l.ChatID != hot || fl.l.Kind != "NewMessage" || fl.l.Message == nil || fl.l.Message.ID < firstNew {
			return
		}
		if count[fl.proc]++; count[fl.proc] == 5 {
			victim, killedAt = fl.proc, time.Now()
			killed <- procs[fl.proc].cmd.Process.Kill()
		}
	}
	log.mu.Unlock()
	for i := range 40 {
		write(hot, i%5 == 4)
	}
	for range 36 {
		write(chats[rng.IntN(len(chats))], rng.IntN(4) == 0)
	}
	select {
	case err := <-killed:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("no process printed five of chat %d's new messages", hot)
	}
	select {
	case <-procs[victim].done:
	case <-time.After(30 * time.Second):
		t.Fatal("the killed process did not end")
	}

	// What the killed process printed, its stdout now closed and read to the end.
	log.mu.Lock()
	victimChats := map[int64]bool{}
	victimPrinted := map[int64]bool{}
	victimLines := 0
	for _, fl := range log.lines {
		if fl.proc != victim {
			continue
		}
		victimLines++
		victimChats[fl.l.ChatID] = true
		if fl.l.Kind == "NewMessage" && fl.l.Message != nil {
			victimPrinted[fl.l.Message.ID] = true
		}
	}
	log.mu.Unlock()

	// Phase two: new work in every chat the killed process served, more at random, and
	// a text after every sticker left last, since no push announces a sticker.
	victimChatIDs := make([]int64, 0, len(victimChats))
	for c := range victimChats {
		victimChatIDs = append(victimChatIDs, c)
	}
	slices.Sort(victimChatIDs)
	for _, c := range victimChatIDs {
		write(c, false)
	}
	for range 24 {
		write(chats[rng.IntN(len(chats))], rng.IntN(4) == 0)
	}
	// Last, a text in every chat: a chat the killed process had taken a push for but
	// not read yet is marked dirty in Redis, which only a sweep (a minute apart) or a
	// push reads; and no push announces a sticker.
	for _, c := range chats {
		write(c, false)
	}

	var missing []int64
	log.until(t, func() string { return fmt.Sprintf("messages %v printed by no process", missing) }, 60*time.Second, func(lines []fleetLine) bool {
		missing = covered(srv, lines)
		return len(missing) == 0
	})
	for i, p := range procs {
		if i != victim {
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
		}
	}
	codes := make([]int, n)
	for i, p := range procs {
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("process %d did not stop on SIGINT", i)
		}
		codes[i] = p.cmd.ProcessState.ExitCode()
		if i != victim {
			assert.Equal(t, 0, codes[i], "process %d: a signal is a clean stop", i)
		}
	}

	log.mu.Lock()
	defer log.mu.Unlock()
	assert.Empty(t, log.bad, "stdout holds JSON lines only")

	// Within a process, each chat's messages come in order of id.
	for i := range procs {
		last := map[int64]int64{}
		for _, fl := range log.lines {
			if fl.proc != i || fl.l.Kind != "NewMessage" || fl.l.Message == nil {
				continue
			}
			id := fl.l.Message.ID
			assert.Greater(t, id, last[fl.l.ChatID], "process %d, chat %d: message %d after %d", i, fl.l.ChatID, id, last[fl.l.ChatID])
			last[fl.l.ChatID] = id
		}
	}

	// A message printed twice is one the killed process printed and had not saved: one
	// event at most for each chat it had in flight.
	prints := map[int64][]int{}
	messages := 0
	for _, fl := range log.lines {
		if fl.l.Kind == "NewMessage" && fl.l.Message != nil {
			prints[fl.l.Message.ID] = append(prints[fl.l.Message.ID], fl.proc)
			messages++
		}
	}
	var dups []int64
	for id, by := range prints {
		if len(by) > 1 {
			dups = append(dups, id)
			assert.True(t, victimPrinted[id] && len(by) == 2, "message %d printed by processes %v: only the killed process's last events may come twice", id, by)
		}
	}
	slices.Sort(dups)
	assert.LessOrEqual(t, len(dups), inbox.DefaultWorkers, "duplicates %v: at most one for each chat the killed process had in flight", dups)

	// How soon the killed process's chats were served again, all of which got a message
	// after the kill.
	var first, last time.Duration
	for c := range victimChats {
		for _, fl := range log.lines {
			if fl.proc != victim && fl.l.ChatID == c && fl.at.After(killedAt) {
				d := fl.at.Sub(killedAt)
				if first == 0 || d < first {
					first = d
				}
				last = max(last, d)
				break
			}
		}
	}

	for i, e := range log.stderr {
		if len(e) > 0 {
			t.Logf("process %d stderr:\n%s", i, strings.Join(e, "\n"))
		}
	}
	total := len(writtenIDs(srv))
	t.Logf("seed %d; %s", fleetSeed, rs.Describe())
	t.Logf("messages: %d in the fake (%d of the fixture, %d written by the test in %d chats); %d NewMessage lines printed, %d lines before the writing",
		total, fixture, written, len(chats), messages, caughtUp)
	t.Logf("killed process %d after it printed %d lines (%d messages, in %d chats); duplicates: %d %v",
		victim, victimLines, len(victimPrinted), len(victimChats), len(dups), dups)
	t.Logf("its chats served again by the others %.2fs (first) to %.2fs (all) after the kill; exit codes %v",
		first.Seconds(), last.Seconds(), codes)
}
