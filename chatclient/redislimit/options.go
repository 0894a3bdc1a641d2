package redislimit

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of the options.
const (
	DefaultPrefix         = "ymchat:"              // of every key ([WithPrefix])
	DefaultMaxInFlight    = 4                      // the Market's limit ([WithMaxInFlight])
	DefaultLeaseTTL       = 2 * time.Second        // a dead process's slots back within it ([WithLeaseTTL])
	DefaultReservationTTL = time.Minute            // a dead process's places ([WithReservationTTL])
	DefaultOpTimeout      = 200 * time.Millisecond // of one Redis call ([WithOpTimeout])
	DefaultProbeInterval  = 3 * time.Second        // on local limits before Redis is tried again ([WithProbeInterval])
	DefaultFleetSize      = 1                      // a process alone ([WithFleetSize])
)

// Option configures a [Limiter]; New checks the values.
type Option func(*config)

type config struct {
	prefix                                     string
	max, fleet                                 int
	leaseTTL, reservationTTL, opTimeout, probe time.Duration
	logger                                     *slog.Logger
}

// WithPrefix sets the prefix of every Redis key. Default: [DefaultPrefix].
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithMaxInFlight sets how many requests of one business may be in flight across all
// processes; 0 means no bound. Default: [DefaultMaxInFlight], the Market's limit.
func WithMaxInFlight(n int) Option { return func(c *config) { c.max = n } }

// WithFleetSize tells how many processes share the limits: while Redis is away each
// keeps ceil(max in flight / n) requests of a business in flight, at least 1, so that
// the fleet stays near the Market's limit instead of n times it. Default:
// [DefaultFleetSize].
func WithFleetSize(n int) Option { return func(c *config) { c.fleet = n } }

// WithLeaseTTL sets how long a slot taken in Redis lives unless renewed: the slots of a
// process that dies come back within it. Held slots are renewed every third of it.
// Default: [DefaultLeaseTTL].
func WithLeaseTTL(d time.Duration) Option { return func(c *config) { c.leaseTTL = d } }

// WithReservationTTL sets how long a place in a quota counts when it is not given back
// (its process died). It should exceed the longest request. Default:
// [DefaultReservationTTL].
func WithReservationTTL(d time.Duration) Option { return func(c *config) { c.reservationTTL = d } }

// WithOpTimeout bounds each Redis call (the caller's deadline may bound it sooner); past
// it the Limiter falls back to in-process limits. Default: [DefaultOpTimeout].
func WithOpTimeout(d time.Duration) Option { return func(c *config) { c.opTimeout = d } }

// WithProbeInterval sets how long the Limiter serves from in-process limits after a
// Redis failure before it tries Redis again. Default: [DefaultProbeInterval].
func WithProbeInterval(d time.Duration) Option { return func(c *config) { c.probe = d } }

// WithLogger sets where the Limiter reports losing and regaining Redis. Default:
// [slog.Default].
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// newConfig applies opts to the defaults and checks the result.
func newConfig(opts []Option) (config, error) {
	c := config{prefix: DefaultPrefix, max: DefaultMaxInFlight, fleet: DefaultFleetSize, leaseTTL: DefaultLeaseTTL,
		reservationTTL: DefaultReservationTTL, opTimeout: DefaultOpTimeout, probe: DefaultProbeInterval, logger: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.max < 0 || c.fleet < 1:
		return c, fmt.Errorf("redislimit: max in flight %d or fleet size %d out of range", c.max, c.fleet)
	case c.leaseTTL < 3*time.Millisecond || c.reservationTTL < time.Millisecond || c.opTimeout <= 0 || c.probe <= 0:
		return c, fmt.Errorf("redislimit: a duration is too short (lease TTL %v, reservation TTL %v, op timeout %v, probe interval %v)",
			c.leaseTTL, c.reservationTTL, c.opTimeout, c.probe)
	case c.logger == nil:
		return c, errors.New("redislimit: nil logger")
	}
	return c, nil
}
