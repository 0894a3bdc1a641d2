package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/inbox/boltstore"
	"github.com/ymchat/ymchat/chatclient/inbox/redisstore"
	"github.com/ymchat/ymchat/chatclient/notify"
)

type inboxFlags struct {
	state            string
	once             bool
	listen           string
	receiver         receiverFlags
	shutdownDeadline time.Duration
	minInterval      time.Duration
	share            float64
}

const inboxHelp = `Print every event of the business's chats as a JSON line on stdout: a new chat,
each new message (stickers too), a status change, a dispute started or
finished. It reads what pushes announce (--listen) and sweeps the chat list as
often as a fifth of the hourly quotas allows (--share), at most once a minute
(--min-interval), so a lost or never-sent push delays a message, never loses
it. A line (here wrapped) looks like

  {"kind":"NewMessage","businessId":100,"chatId":5000003,
   "message":{"messageId":1000321,"createdAt":"2026-11-22T09:00:00Z",
   "sender":"CUSTOMER","text":"Where is my order?"}}

kind is ChatCreated, NewMessage, StatusChanged (with oldStatus),
ArbitrationStarted or ArbitrationFinished; every kind but NewMessage carries
the chat. Times are RFC 3339 UTC like every time in ymchat's JSON.

Where it keeps its place (the last event printed of each chat):

  * by default in memory: a restart prints every chat's whole history again;
  * --state FILE: in a file, so a restart prints only what is new;
  * --redis URL (or YM_REDIS_URL): in Redis, shared by a fleet of processes,
    each chat handled by one of them at a time.

--listen ADDR takes the Market's pushes as "ymchat listen" does, with its
--allow-ip, --market-only, --trusted-proxy, --tls-cert and --tls-key (see
"ymchat listen --help" for serving it to the Market); they need --listen.

--once sweeps once, prints what is new and exits (for cron): 0 when every chat
was printed in full; else the exit code of the sweep's failure (see ymchat
--help), or 1 when only some chats still failed after a few tries; either way
the next run picks up where each chat stopped. --timeout applies to
--once only. Without --once, SIGINT or SIGTERM stops it and it exits 0: what
was not printed yet is printed by the next run.`

func newInboxCommand(e *env, o *options) *cobra.Command {
	f := &inboxFlags{}
	cmd := &cobra.Command{
		Use:   "inbox",
		Short: "Print every new chat, message and status change as JSON lines",
		Long:  inboxHelp,
		Example: `  ymchat inbox --fake --once
  ymchat inbox --state inbox.db --listen 127.0.0.1:8080
  ymchat inbox --state inbox.db --once   # from cron`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runInbox(cmd.Context(), e, o, f) },
	}
	fl := cmd.Flags()
	fl.Var(stringValue{&f.state, "FILE"}, "state", "keep the place in this file (default: in memory)")
	fl.BoolVar(&f.once, "once", false, "sweep once, print what is new and exit")
	fl.Var(stringValue{&f.listen, "ADDR"}, "listen", "also take the Market's pushes on this address (HOST:PORT)")
	fl.DurationVar(&f.shutdownDeadline, "shutdown-timeout", 15*time.Second, "on a signal, wait this long for pushes in flight")
	intervalFlag(fl, &f.minInterval, "min-interval", inbox.DefaultMinInterval, "the shortest time between two sweeps of the chat list")
	shareFlag(fl, &f.share, "share", inbox.DefaultShare, "the share of each hourly quota the sweeps may spend (above 0, at most 1)")
	f.receiver.define(cmd)
	cmd.MarkFlagsMutuallyExclusive("once", "listen")
	return cmd
}

// inboxReceiver makes the receiver of --listen. Its flags mean nothing without
// --listen: they are refused rather than ignored, so that nobody believes a receiver
// is guarded that does not run.
func inboxReceiver(f *inboxFlags) (receiver, error) {
	if f.listen == "" {
		if flag := f.receiver.given(); flag != "" {
			return receiver{}, usagef("%s needs --listen ADDR: without it inbox takes no pushes", flag)
		}
		return receiver{}, nil
	}
	return f.receiver.build()
}

// inboxStore opens the store the flags pick, and returns what to close after.
func inboxStore(o *options, f *inboxFlags) (inbox.Store, func(), error) {
	switch {
	case f.state != "" && o.redisOpts != nil:
		return nil, nil, usagef("--state and %s both name a store: give one", o.redisSource())
	case f.state != "":
		st, err := boltstore.Open(f.state)
		if err != nil {
			return nil, nil, usagef("--state %s: %v", f.state, err)
		}
		return st, func() { _ = st.Close() }, nil
	case o.redisOpts != nil:
		rdb := redis.NewClient(o.redisOpts)
		st, err := redisstore.New(rdb, "ymchat:inbox:", 0)
		if err != nil {
			_ = rdb.Close()
			return nil, nil, usagef("%s: %v", o.redisSource(), err)
		}
		return st, func() { _ = rdb.Close() }, nil
	}
	return inbox.NewMemoryStore(), func() {}, nil
}

func runInbox(ctx context.Context, e *env, o *options, f *inboxFlags) error {
	rcv, err := inboxReceiver(f)
	if err != nil {
		return err
	}
	store, closeStore, err := inboxStore(o, f)
	if err != nil {
		return err
	}
	defer closeStore()
	s, err := o.connect(e, nil)
	if err != nil {
		return err
	}
	defer s.close()

	// --once says at the end which chats it held back and why: each failed try
	// need not be a line of its own.
	level := slog.LevelWarn
	if f.once {
		level = slog.LevelError
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	out := &inboxPrinter{lines: newJSONLines(e.stdout), prog: &progress{w: e.stderr, on: e.isTerminal(e.stderr)}}
	ib, err := inbox.New(s.client, s.business, store, out.handle, inbox.WithLogger(logger),
		inbox.WithMinInterval(f.minInterval), inbox.WithShare(f.share))
	if err != nil {
		return err
	}
	if f.once {
		ctx, cancel := o.context(ctx)
		defer cancel()
		return inboxOnce(ctx, e, ib, out)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- ib.Run(runCtx) }()
	served := make(chan error, 1)
	if f.listen != "" {
		h, err := notify.NewHandler(append(append(inbox.NotifyOptions(ib), rcv.options...), notify.WithLogger(logger))...)
		if err != nil {
			stop()
			<-ran
			return err
		}
		go func() {
			served <- serveHTTP(runCtx, e, logger, "--listen", f.listen, rcv.tls, h, f.shutdownDeadline, rcv.started(logger))
		}()
	}

	// The progress line runs until the first sweep is printed in full.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	first := true
	var serveErr error
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case serveErr = <-served:
			break wait
		case <-tick.C:
			if !first {
				continue
			}
			if first = !out.caughtUp(ib); first {
				out.progress(ib)
			}
		}
	}
	stop()
	err = <-ran
	if f.listen != "" && serveErr == nil {
		serveErr = <-served
	}
	out.clear()
	switch {
	case serveErr != nil:
		return serveErr
	case err != nil && !errors.Is(err, context.Canceled):
		return err
	}
	// A signal: what was not printed yet is printed by the next run, from the
	// place each chat's cursor holds.
	return nil
}

// inboxOnce makes one pass and says on stderr what it could not do.
func inboxOnce(ctx context.Context, e *env, ib *inbox.Inbox, out *inboxPrinter) error {
	passed := make(chan struct{})
	var rep inbox.Report
	var err error
	go func() {
		defer close(passed)
		rep, err = ib.Once(ctx)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-passed:
			running = false
		case <-tick.C:
			out.progress(ib)
		}
	}
	out.clear()
	if !rep.Swept && err == nil {
		fmt.Fprintf(e.stderr, "another process is sweeping business %d: printed only what pushes marked\n", ib.BusinessID())
	}
	if len(rep.HeldBack) > 0 && ctx.Err() == nil {
		ids := slices.Sorted(maps.Keys(rep.HeldBack))
		var b strings.Builder
		fmt.Fprintf(&b, "%d of the chats could not be printed in full; the next run tries them again:", len(ids))
		for _, id := range ids {
			fmt.Fprintf(&b, "\n  chat %d: %v", id, rep.HeldBack[id])
		}
		// Both, when the sweep failed too: the sweep's error decides the exit code.
		err = errors.Join(err, errors.New(b.String()))
	}
	return err
}

// inboxPrinter prints the inbox's events as JSON lines on stdout and a progress line
// on stderr; they may share a terminal, so a line is printed only once the progress
// line is cleared, under the same lock.
type inboxPrinter struct {
	mu      sync.Mutex
	lines   *jsonLines
	prog    *progress
	printed int
}

// handle is the inbox's handler.
func (p *inboxPrinter) handle(_ context.Context, ev inbox.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prog.clear()
	p.printed++
	return p.lines.write(toInboxLine(ev))
}

// progress says how far the sweep is. It skips a tick while a line is being printed
// rather than wait: a stdout that blocks (a paused pipe) must not keep the caller
// from seeing a signal.
func (p *inboxPrinter) progress(ib *inbox.Inbox) {
	if !p.mu.TryLock() {
		return
	}
	defer p.mu.Unlock()
	at, chats := ib.LastSweep()
	switch {
	case ib.SweptElsewhere():
		p.prog.show("another process sweeps: %d chats to read... %d events printed", ib.Pending(), p.printed)
	case at.IsZero():
		p.prog.show("sweep: listing the chats... %d events printed", p.printed)
	default:
		p.prog.show("sweep: %d chats listed, %d to read... %d events printed", chats, ib.Pending(), p.printed)
	}
}

func (p *inboxPrinter) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prog.clear()
}

// caughtUp says whether the inbox's first sweep ended (here, or in the process of a
// fleet that holds the sweep) and every chat it queued (or a push woke since) was
// handed over; the progress line is cleared once it is.
func (p *inboxPrinter) caughtUp(ib *inbox.Inbox) bool {
	at, _ := ib.LastSweep()
	if (at.IsZero() && !ib.SweptElsewhere()) || ib.Pending() > 0 {
		return false
	}
	if !p.mu.TryLock() {
		return false
	}
	defer p.mu.Unlock()
	p.prog.clear()
	return true
}
