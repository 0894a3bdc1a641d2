package inbox

import (
	"errors"
	"log/slog"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// Defaults of the options.
const (
	// DefaultShare is the share of each hourly quota (getChats, getChatHistory) the
	// sweep may spend: a fifth, leaving the rest to the people answering.
	DefaultShare = 0.2
	// DefaultMinInterval is the shortest time between two sweeps, whatever the quota
	// allows.
	DefaultMinInterval = time.Minute
	// DefaultWorkers is how many chats are handled at once: the Market serves four
	// requests of a business in parallel.
	DefaultWorkers = 4
	// DefaultMinBackoff is the wait before a chat whose handler (or read) failed is
	// tried again; it doubles with each failure in a row.
	DefaultMinBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff is the longest such wait.
	DefaultMaxBackoff = 30 * time.Second
	// DefaultMargin is how close to the start of the last read of a chat a message
	// may be dated and still make the sweep read the chat again: updatedAt has
	// one-second precision, so a message written in the same second as a read began
	// looks as old as the read.
	DefaultMargin = 2 * time.Second
)

// Option configures an [Inbox].
type Option func(*config) error

type config struct {
	share                  float64
	minInterval            time.Duration
	workers                int
	minBackoff, maxBackoff time.Duration
	margin                 time.Duration
	log                    *slog.Logger
	clock                  chatclient.Clock // nil: the client's
}

func defaults() config {
	return config{share: DefaultShare, minInterval: DefaultMinInterval, workers: DefaultWorkers,
		minBackoff: DefaultMinBackoff, maxBackoff: DefaultMaxBackoff, margin: DefaultMargin, log: slog.New(slog.DiscardHandler)}
}

// WithShare sets the share (above 0, at most 1) of each hourly quota the sweeps may
// spend. Default: [DefaultShare].
func WithShare(share float64) Option {
	return func(c *config) error {
		if !(share > 0 && share <= 1) {
			return errors.New("inbox: share must be above 0 and at most 1")
		}
		c.share = share
		return nil
	}
}

// WithMinInterval sets the shortest time between two sweeps. Default:
// [DefaultMinInterval].
func WithMinInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return errors.New("inbox: min interval must not be negative")
		}
		c.minInterval = d
		return nil
	}
}

// WithWorkers sets how many chats are handled at once (at least 1). Default:
// [DefaultWorkers].
func WithWorkers(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return errors.New("inbox: workers must be at least 1")
		}
		c.workers = n
		return nil
	}
}

// WithBackoff sets the first and the longest wait before a failed chat is tried again.
// Default: [DefaultMinBackoff], [DefaultMaxBackoff].
func WithBackoff(first, longest time.Duration) Option {
	return func(c *config) error {
		if first <= 0 || longest < first {
			return errors.New("inbox: backoff must be positive, the longest at least the first")
		}
		c.minBackoff, c.maxBackoff = first, longest
		return nil
	}
}

// WithLogger logs failed handlers, reads and sweeps. Default: nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("inbox: logger must not be nil")
		}
		c.log = l
		return nil
	}
}

// WithClock sets the clock the inbox waits by between two sweeps and dates what it
// sees by. Default: the client's ([chatclient.Client.Clock]). It must tell the same
// time as the client's clock, on which the client reports quota resets. A test gives
// a clock that moves on when the inbox waits, to run hours of sweeps in moments; note
// that a client built on such a clock (chattest.Clock, whose Sleep returns at once)
// makes [Inbox.Run] sweep back to back unless the inbox is given a clock of its own.
// The backoff of a failing chat is always on the system clock.
func WithClock(c chatclient.Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("inbox: clock must not be nil")
		}
		cfg.clock = c
		return nil
	}
}

// backoff is the wait after the fails-th failure in a row.
func (c *config) backoff(fails int) time.Duration {
	d := c.minBackoff
	for i := 1; i < fails && d < c.maxBackoff; i++ {
		d *= 2
	}
	return min(d, c.maxBackoff)
}
