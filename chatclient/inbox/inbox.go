package inbox

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// Inbox turns the chats of one business into events for a [Handler]. Create it with
// [New], feed it pushes with [NotifyOptions], and call [Inbox.Run].
type Inbox struct {
	client   *chatclient.Client
	business int64
	store    Store
	handle   Handler
	cfg      config
	q        *queue

	reads  atomic.Int64 // getChatHistory reads since the last sweep
	events atomic.Int64 // events the handler took
	// elsewhere is whether another process of a fleet held the sweep at the last try.
	elsewhere atomic.Bool
	running   atomic.Bool
	mu        sync.Mutex
	chats     int       // chats the last complete sweep listed
	swept     time.Time // when the last complete sweep ended
}

// New returns an inbox for business that reads the Market with client, keeps its
// place in store and hands events to handle. Nothing happens until [Inbox.Run].
func New(client *chatclient.Client, businessID int64, store Store, handle Handler, opts ...Option) (*Inbox, error) {
	switch {
	case client == nil:
		return nil, errors.New("inbox: client must not be nil")
	case businessID < 1:
		return nil, errors.New("inbox: businessID must be at least 1")
	case store == nil:
		return nil, errors.New("inbox: store must not be nil")
	case handle == nil:
		return nil, errors.New("inbox: handler must not be nil")
	}
	cfg := defaults()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.clock == nil {
		cfg.clock = client.Clock()
	}
	return &Inbox{client: client, business: businessID, store: store, handle: handle, cfg: cfg, q: newQueue(cfg.backoff)}, nil
}

// BusinessID returns the business the inbox serves.
func (ib *Inbox) BusinessID() int64 { return ib.business }

// Run hands events over until ctx ends: it sweeps at once (which also picks up the
// chats pushes marked before a restart), then as often as the quota share allows,
// and handles the chats pushes wake in between. It returns ctx's error once every
// handler call has returned, so the store may be closed then. Run once at a time, and
// not beside [Inbox.Once].
func (ib *Inbox) Run(ctx context.Context) error {
	if !ib.running.CompareAndSwap(false, true) {
		return errors.New("inbox: Run or Once is running already")
	}
	defer ib.running.Store(false)
	var wg sync.WaitGroup
	for range ib.cfg.workers {
		wg.Go(func() { ib.work(ctx, false) })
	}
	defer wg.Wait()
	for {
		err := ib.sweepIfLeased(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := ib.interval(ctx)
		if err != nil {
			ib.cfg.log.Warn("inbox: sweep failed", "business", ib.business, "err", err)
			wait = min(wait, ib.cfg.maxBackoff)
		}
		if err := ib.cfg.clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// sweepIfLeased sweeps unless another process of a fleet sweeps the business now.
func (ib *Inbox) sweepIfLeased(ctx context.Context) error {
	release, ok, err := ib.leaseSweep(ctx)
	if err != nil {
		return err
	}
	ib.elsewhere.Store(!ok)
	if !ok {
		return nil
	}
	defer release()
	return ib.Sweep(ctx)
}

// SweptElsewhere reports whether, at the last try, another process of a fleet was
// sweeping the business, so that this one did not ([Inbox.LastSweep] then stays as
// it was): that process's sweep is the safety net for both.
func (ib *Inbox) SweptElsewhere() bool { return ib.elsewhere.Load() }

// work handles the chats the queue hands out until ctx ends or, when drain is set,
// until the queue is empty.
func (ib *Inbox) work(ctx context.Context, drain bool) {
	for {
		id, j, ok := ib.q.take(ctx, drain)
		if !ok {
			return
		}
		ib.q.done(id, j, ib.handleChat(ctx, id, j))
	}
}

// handleChat brings one chat up to date under its lease.
func (ib *Inbox) handleChat(ctx context.Context, id int64, j job) error {
	release, err := ib.leaseChat(ctx, id)
	if err == nil {
		err = ib.syncChat(ctx, id, j)
		release()
	}
	if err != nil && ctx.Err() == nil && !errors.Is(err, errLeased) {
		ib.cfg.log.Warn("inbox: chat held back", "business", ib.business, "chat", id, "err", err)
	}
	return err
}

// Pending returns how many chats wait to be handled or are being handled now.
func (ib *Inbox) Pending() int { return ib.q.size() }
