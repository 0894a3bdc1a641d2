package redislimit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// errFallback says that Redis failed and the call goes on local limits.
var errFallback = errors.New("redislimit: Redis failed")

// health is what the Limiter knows of Redis: whether it answers, and when to try it
// again after a failure.
type health struct {
	probe  time.Duration
	prefix string // for a refusal's hint
	log    *slog.Logger

	mu            sync.Mutex
	down, probing bool
	nextProbe     time.Time
}

// useRedis says whether the next call goes to Redis; probe is true for the one call that
// tries Redis again after a failure, which must be settled.
func (h *health) useRedis() (ok, probe bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !h.down:
		return true, false
	case h.probing || time.Now().Before(h.nextProbe):
		return false, false
	}
	h.probing = true
	return true, true
}

// settle sorts out err, the outcome of a Redis call for a caller with context ctx: nil
// when Redis answered; ctx's error when ctx ended first (that says nothing of Redis);
// an error wrapping ErrRefused; or errFallback, after noting the failure: local limits
// until the probe interval has passed. Losing Redis and getting it back are logged once.
func (h *health) settle(ctx context.Context, err error, probe bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if probe {
		h.probing = false
	}
	switch {
	case err == nil:
		if h.down {
			h.down = false
			h.log.Info("redislimit: Redis answers again; sharing limits through it")
		}
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	if rerr := refusal(err, h.prefix); rerr != nil {
		return rerr
	}
	h.nextProbe = time.Now().Add(h.probe)
	if !h.down {
		h.down = true
		h.log.Warn("redislimit: Redis failed; using in-process limits until it answers again",
			"error", err.Error(), "retry_in", h.probe)
	}
	return errFallback
}

func (h *health) degraded() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}
