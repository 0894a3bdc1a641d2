package redislimit

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
)

// releaseDelay is how long the end of an admitted call (Done) may wait in this process
// before it is sent to Redis on its own. The next Admit of the same business carries
// it in its own round trip, ahead of its script, so a client that calls again at once
// pays one round trip per call, not two; otherwise a timer sends it after this delay,
// with every other end that waits, in one pipeline.
const releaseDelay = 500 * time.Microsecond

// doneOp is the end of one admitted call waiting to be sent: doneScript's keys and
// arguments, and what to note of its outcome.
type doneOp struct {
	ctx    context.Context // values only; never cancels
	key    chatclient.QuotaKey
	report *chatclient.RateLimit // a copy, or nil
	now    time.Time
	keys   []string
	args   []any
}

// pending is what waits for Redis of one business: ends not yet sent, and the batches
// on their way (each closed when Redis has answered it).
type pending struct {
	ops      []*doneOp
	inflight []chan struct{}
}

// hold queues op, to go with the next Admit of its business or with the timer. After
// Close it is sent at once.
func (l *Limiter) hold(op *doneOp) {
	l.qmu.Lock()
	if l.qclosed {
		l.qmu.Unlock()
		l.sendDones(op.ctx, op.key.BusinessID, nil, []*doneOp{op})
		return
	}
	p := l.pending[op.key.BusinessID]
	if p == nil {
		p = &pending{}
		l.pending[op.key.BusinessID] = p
	}
	p.ops = append(p.ops, op)
	if l.flushTimer == nil {
		l.flushTimer = time.AfterFunc(l.releaseDelay, l.flushAll)
	}
	l.qmu.Unlock()
}

// take removes the queued ends of business. It returns them, the batches of that
// business already on their way (the caller waits for them, so that what this process
// ended before is applied before what it asks next), and, when there are ends, the
// channel that marks the caller's own batch on its way (pass it to landed).
func (l *Limiter) take(business int64) (ops []*doneOp, ahead []chan struct{}, mine chan struct{}) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	p := l.pending[business]
	if p == nil {
		return nil, nil, nil
	}
	ops, p.ops = p.ops, nil
	ahead = slices.Clone(p.inflight)
	if len(ops) > 0 {
		mine = make(chan struct{})
		p.inflight = append(p.inflight, mine)
	} else if len(p.inflight) == 0 {
		delete(l.pending, business)
	}
	return ops, ahead, mine
}

// landed marks a batch of business as answered.
func (l *Limiter) landed(business int64, ch chan struct{}) {
	if ch == nil {
		return
	}
	l.qmu.Lock()
	if p := l.pending[business]; p != nil {
		if i := slices.Index(p.inflight, ch); i >= 0 {
			p.inflight = slices.Delete(p.inflight, i, i+1)
		}
		if len(p.ops) == 0 && len(p.inflight) == 0 {
			delete(l.pending, business)
		}
	}
	l.qmu.Unlock()
	close(ch)
}

// await waits for batches on their way, for at most d: past it the caller goes on
// (a batch is then stuck in a slow Redis, and the caller's own call is bounded too).
func await(ahead []chan struct{}, d time.Duration) {
	if len(ahead) == 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for _, ch := range ahead {
		select {
		case <-ch:
		case <-t.C:
			return
		}
	}
}

// flushBusiness sends the queued ends of business now, after those on their way.
func (l *Limiter) flushBusiness(ctx context.Context, business int64) {
	ops, ahead, mine := l.take(business)
	await(ahead, l.cfg.opTimeout)
	if len(ops) > 0 {
		l.sendDones(ctx, business, mine, ops)
	}
}

// flushAll sends every queued end, of every business, in one pipeline (the timer's
// work). Ends commute (see giveBack), so it waits for nothing on its way.
func (l *Limiter) flushAll() {
	l.qmu.Lock()
	l.flushTimer = nil
	var ops []*doneOp
	marks := map[int64]chan struct{}{}
	for b, p := range l.pending {
		if len(p.ops) == 0 {
			continue
		}
		ops = append(ops, p.ops...)
		p.ops = nil
		ch := make(chan struct{})
		p.inflight = append(p.inflight, ch)
		marks[b] = ch
	}
	l.qmu.Unlock()
	if len(ops) == 0 {
		return
	}
	l.sendDones(context.Background(), 0, nil, ops)
	for b, ch := range marks {
		l.landed(b, ch)
	}
}

// Flush sends now the ends of calls this process holds back (see "Round trips" in the
// package documentation) and waits until Redis has answered them. A client never needs
// it; it is for code that reads the Limiter's keys itself. Close flushes too.
func (l *Limiter) Flush() {
	l.flushAll()
	l.qmu.Lock()
	var ahead []chan struct{}
	for _, p := range l.pending {
		ahead = append(ahead, p.inflight...)
	}
	l.qmu.Unlock()
	await(ahead, 2*l.cfg.opTimeout) // each batch: its wait for those before it, then its call
}

// closeQueue makes every later end go to Redis at once, and flushes.
func (l *Limiter) closeQueue() {
	l.qmu.Lock()
	l.qclosed = true
	if l.flushTimer != nil {
		l.flushTimer.Stop()
		l.flushTimer = nil
	}
	l.qmu.Unlock()
	l.Flush()
}

// sendDones sends ops in one round trip (marking mine of business landed after), then
// notes each outcome and wakes this process's waiters.
func (l *Limiter) sendDones(ctx context.Context, business int64, mine chan struct{}, ops []*doneOp) {
	octx, cancel := l.opContext(ctx)
	errs := l.pipeline(octx, ops, nil)
	cancel()
	l.landed(business, mine)
	l.noteDones(ops, errs)
}

// noteDones notes what Redis answered to each end. After a failure the report is kept
// where the next reservations will look, as Release does, and the lease and the
// reservation are left to expire.
func (l *Limiter) noteDones(ops []*doneOp, errs []error) {
	for i, op := range ops {
		err := errs[i]
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		l.result(err, false)
		if err != nil {
			l.localQuotas.Release(op.ctx, op.key, op.report, op.now)
			l.cfg.logger.Debug("redislimit: release failed; the lease and the reservation expire by themselves",
				"key", op.keys[2], "error", err.Error())
		}
	}
	if len(ops) > 0 {
		l.kick()
	}
}

// scriptCall is one script to run after the ends in a pipeline.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	// undo gives back what the script took, given its answer: pipeline uses it when
	// the script ran ahead of an end it had to run again.
	undo func(ctx context.Context, answer *redis.Cmd)
	cmd  *redis.Cmd // its answer, after pipeline
}

// pipeline runs doneScript for each op, then call (when not nil), in one round trip,
// and returns each op's error. A script Redis does not have (it restarted, or its
// scripts were flushed) is run again with its source, as Script.Run does.
func (l *Limiter) pipeline(ctx context.Context, ops []*doneOp, call *scriptCall) []error {
	errs := make([]error, len(ops))
	if len(ops) == 0 && call == nil {
		return errs
	}
	if len(ops) == 0 || (len(ops) == 1 && call == nil) {
		// One script: no pipeline to build.
		if call != nil {
			call.cmd = call.script.Run(ctx, l.rdb, call.keys, call.args...)
		} else {
			errs[0] = doneScript.Run(ctx, l.rdb, ops[0].keys, ops[0].args...).Err()
		}
		return errs
	}
	if !l.scriptsLoaded.Load() {
		// A pipeline cannot fall back to EVAL in place, and an end run again after the
		// Admit behind it would come too late: load the scripts first.
		l.loadScripts(ctx)
	}
	cmds := make([]*redis.Cmd, len(ops))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, op := range ops {
			cmds[i] = doneScript.EvalSha(ctx, p, op.keys, op.args...)
		}
		if call != nil {
			call.cmd = call.script.EvalSha(ctx, p, call.keys, call.args...)
		}
		return nil
	})
	rerun := false
	for i, cmd := range cmds {
		errs[i] = cmd.Err()
		if noScript(errs[i]) {
			l.scriptsLoaded.Store(false)
			errs[i] = doneScript.Run(ctx, l.rdb, ops[i].keys, ops[i].args...).Err()
			rerun = true
		}
	}
	if call == nil {
		return errs
	}
	switch {
	case noScript(call.cmd.Err()):
		l.scriptsLoaded.Store(false)
		call.cmd = call.script.Run(ctx, l.rdb, call.keys, call.args...)
	case rerun && call.cmd.Err() == nil:
		// The call ran ahead of an end that was run again only now (Redis had one
		// script and not the other): undo it and run it again, after the end.
		if call.undo != nil {
			call.undo(ctx, call.cmd)
		}
		call.cmd = call.script.Run(ctx, l.rdb, call.keys, call.args...)
	}
	return errs
}

// loadScripts loads the scripts pipelines run. Not in a pipeline: Script.Load given
// a pipeline would take the still empty answer for the script's hash.
func (l *Limiter) loadScripts(ctx context.Context) {
	for _, s := range []*redis.Script{doneScript, admitScript} {
		if s.Load(ctx, l.rdb).Err() != nil {
			return
		}
	}
	l.scriptsLoaded.Store(true)
}

func noScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}
