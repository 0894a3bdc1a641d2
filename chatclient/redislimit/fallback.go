package redislimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrRefused is wrapped by the error of a Redis that refuses the Limiter: a wrong or
// missing password, or an ACL user without the permissions the Limiter needs (to run
// scripts: +@scripting; to read and write the keys under its prefix; to publish and
// subscribe to the channel prefix + "turns"). Unlike an
// outage it does not clear by itself, so the Limiter does not fall back to local
// limits for it: New or the call returns it.
var ErrRefused = errors.New("redislimit: Redis refuses the limiter")

// errFallback says that Redis failed and the call goes on local limits.
var errFallback = errors.New("redislimit: Redis failed")

// refused reports whether err is Redis refusing the Limiter's credentials or
// permissions.
func refused(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	for _, code := range []string{"NOAUTH", "WRONGPASS", "NOPERM",
		// Redis 7.0's words for a key or channel a script may not touch.
		"The user executing the script can't"} {
		if strings.Contains(msg, code) {
			return true
		}
	}
	return false
}

// refusal is the error returned for a Redis that refuses the Limiter. Redis's own
// message never holds the password, nor does this one.
func (l *Limiter) refusal(err error) error {
	var hint string
	switch msg := err.Error(); {
	case strings.Contains(msg, "NOAUTH"):
		hint = "Redis needs a password and the client sends none"
	case strings.Contains(msg, "WRONGPASS"):
		hint = "the Redis username or password is wrong"
	default:
		hint = fmt.Sprintf("the Redis user lacks a permission: it needs +@scripting, ~%s* and &%s", l.cfg.prefix, l.turns())
	}
	return fmt.Errorf("%w: %s: %w", ErrRefused, hint, err)
}

// settle sorts out the error of a Redis call made for a caller with context ctx: nil
// when Redis answered; ctx's error when the caller's context ended first (nothing is
// known of Redis then); an error wrapping ErrRefused; or errFallback, after noting the
// failure (one warning, local limits until the probe interval has passed). probe is
// true when the call was the one that tries Redis again.
func (l *Limiter) settle(ctx context.Context, err error, probe bool) error {
	switch {
	case err == nil || errors.Is(err, redis.Nil):
		l.result(nil, probe)
		return nil
	case ctx.Err() != nil:
		l.endProbe(probe)
		return ctx.Err()
	case refused(err):
		l.endProbe(probe)
		return l.refusal(err)
	}
	l.result(err, probe)
	return errFallback
}

// note notes the outcome of a call made for no caller (an end, a renewal, a clean-up).
func (l *Limiter) note(err error, what string) {
	err = l.settle(context.Background(), err, false)
	switch {
	case err == nil:
	case errors.Is(err, ErrRefused):
		l.cfg.logger.Error("redislimit: "+what+" refused", "error", err.Error())
	default:
		l.cfg.logger.Debug("redislimit: "+what+" failed; what it gives back expires by itself", "error", err.Error())
	}
}

// route is where a call takes its slot.
type route int

const (
	// viaRedis: Redis bounds the fleet.
	viaRedis route = iota
	// viaRedisCapped: Redis, and this process's share of the slots first, while other
	// processes may be on their local limits.
	viaRedisCapped
	// viaLocal: this process's share of the slots alone; Redis failed.
	viaLocal
)

// route says where the next call takes its slot; probe is true when it is the one call
// that tries Redis again after a failure.
func (l *Limiter) route() (r route, probe bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	switch {
	case l.down && (l.probing || now.Before(l.nextProbe)):
		return viaLocal, false
	case l.down:
		l.probing = true
		return viaRedisCapped, true
	case now.Before(l.capUntil):
		return viaRedisCapped, false
	}
	return viaRedis, false
}

func (l *Limiter) endProbe(probe bool) {
	if probe {
		l.mu.Lock()
		l.probing = false
		l.mu.Unlock()
	}
}

// result records the outcome of a Redis call: one warning when Redis is lost, one
// Info line when it is back.
func (l *Limiter) result(err error, probe bool) {
	l.mu.Lock()
	var sub *redis.PubSub
	defer func() {
		l.mu.Unlock()
		if sub != nil {
			_ = sub.Close()
		}
	}()
	if probe {
		l.probing = false
	}
	if err == nil {
		if l.down {
			l.down = false
			if l.slots.max < l.cfg.max {
				// Every busy process of the fleet tries Redis again within a probe
				// interval (and an op timeout): until then some may be on local limits.
				l.capUntil = time.Now().Add(l.cfg.probe + l.cfg.opTimeout)
			}
			l.cfg.logger.Info("redislimit: Redis answers again; sharing limits through it")
		}
		return
	}
	l.nextProbe = time.Now().Add(l.cfg.probe)
	if !l.down {
		l.down = true
		// Nobody waits in Redis now; the next wait there subscribes again.
		sub, l.sub = l.sub, nil
		l.cfg.logger.Warn("redislimit: Redis failed; using in-process limits until it answers again",
			"error", err.Error(), "retry_in", l.cfg.probe)
	}
}

// slots counts this process's requests in flight per business, wherever they took
// their slot, and bounds them at max (this process's share of the fleet's slots) for
// the callers that take one here: while the Limiter runs on local limits, or may share
// the Market's slots with processes that do.
type slots struct {
	max int
	mu  sync.Mutex
	m   map[int64]*bizSlots // absent when a business has none in flight and no waiter
}

type bizSlots struct {
	n       int
	waiters []chan struct{} // first come first served
}

func newSlots(max int) *slots { return &slots{max: max, m: make(map[int64]*bizSlots)} }

func (s *slots) get(business int64) *bizSlots {
	b := s.m[business]
	if b == nil {
		b = &bizSlots{}
		s.m[business] = b
	}
	return b
}

// add counts a slot taken in Redis.
func (s *slots) add(business int64) {
	s.mu.Lock()
	s.get(business).n++
	s.mu.Unlock()
}

// take waits until fewer than max requests of business are in flight in this process
// and counts one more, or returns ctx's error.
func (s *slots) take(ctx context.Context, business int64) error {
	s.mu.Lock()
	b := s.get(business)
	if b.n < s.max && len(b.waiters) == 0 {
		b.n++
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	b.waiters = append(b.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for i, w := range b.waiters {
		if w == ch {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			s.tidy(business, b)
			s.mu.Unlock()
			return ctx.Err()
		}
	}
	s.mu.Unlock()
	// Handed a slot as the context ended: pass it on.
	s.done(business)
	return ctx.Err()
}

// done counts a request of business ended, handing its slot to the first waiter.
func (s *slots) done(business int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.get(business)
	b.n--
	for len(b.waiters) > 0 && b.n < s.max {
		close(b.waiters[0])
		b.waiters = b.waiters[1:]
		b.n++
	}
	s.tidy(business, b)
}

func (s *slots) tidy(business int64, b *bizSlots) {
	if b.n <= 0 && len(b.waiters) == 0 {
		delete(s.m, business)
	}
}
