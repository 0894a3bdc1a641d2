package chatclient

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// DefaultBaseURL is the Market's Partner API.
const DefaultBaseURL = "https://api.partner.market.yandex.ru"

// Defaults of the options.
const (
	// DefaultMaxInFlight is the Market's limit of parallel requests per business.
	DefaultMaxInFlight = 4
	// DefaultMaxWait is how long a call may wait for a spent quota to reset.
	DefaultMaxWait = time.Minute
	// DefaultAttemptTimeout bounds one request of the default HTTP client.
	DefaultAttemptTimeout = 30 * time.Second
	// MaxResponseBytes is the most of a response body the client reads.
	MaxResponseBytes = 4 << 20
	// DefaultMaxIdleConns is how many idle connections the default HTTP client keeps
	// to the API host: enough for the in-flight limit of many businesses at once, so
	// that requests reuse connections instead of opening new TLS connections (Go's
	// standard transport keeps only 2 per host).
	DefaultMaxIdleConns = 64
)

// userAgent names the client and its version, from the build info.
var (
	userAgent      = "ymchat/" + Version() + " (+https://github.com/ymchat/ymchat)"
	userAgentValue = []string{userAgent}
)

// Client calls the chat methods of the Market's Partner API. It is safe for concurrent
// use, and its limits (requests in flight, quota pacing) are shared by every goroutine
// using it: make one Client per token and share it.
type Client struct {
	server string // the base URL, as the generated request builders take it
	base   *url.URL
	http   *http.Client
	auth   Auth
	// authValue is the auth header's value, built once: requests share it.
	authValue []string
	policy    RetryPolicy
	maxWait   time.Duration
	landing   time.Duration // how long a failed send may still land
	// downloadHosts are the hosts Download may send the token to.
	downloadHosts []string
	sends         *sendLog
	maxBody       int
	limits        Limits
	market        *marketClock
	logger        *slog.Logger
	hook          func(RetryInfo)
	clock         Clock
	jitter        func(n int64) int64 // uniform in [0, n)
}

// Option configures a [Client].
type Option func(*settings) error

type settings struct {
	baseURL       string
	httpClient    *http.Client
	policy        RetryPolicy
	maxWait       time.Duration
	landing       time.Duration
	downloadHosts []string
	maxInFlight   int
	limits        Limits
	logger        *slog.Logger
	hook          func(RetryInfo)
	clock         Clock
}

// WithBaseURL points the client at another server, such as a chattest fake. It must be
// https, or http to a loopback host. Default: [DefaultBaseURL].
func WithBaseURL(u string) Option {
	return func(s *settings) error { s.baseURL = u; return nil }
}

// WithHTTPClient sends requests through hc (its transport, timeout, redirect policy and
// cookies), e.g. to add tracing. The client works on a copy of hc: it adds the token to
// its own requests, and wraps the copy's redirect policy so that the token never follows
// a redirect to another host or to plain http. Default: a client with
// http.DefaultTransport and a [DefaultAttemptTimeout] per request.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return &ValidationError{Field: "http client", Rule: "must not be nil", Value: hc}
		}
		s.httpClient = hc
		return nil
	}
}

// WithRetryPolicy replaces [DefaultRetryPolicy]; fields left zero keep their defaults.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(s *settings) error {
		p = p.withDefaults()
		if err := p.validate(); err != nil {
			return err
		}
		s.policy = p
		return nil
	}
}

// WithMaxWait bounds how long one call waits for a spent quota to reset, whether the
// Market said so with a 420 or the client knew it from earlier answers. A reset further
// off returns a [*RateLimitError] at once. 0 never waits. The context deadline bounds
// the wait too. Default: [DefaultMaxWait].
func WithMaxWait(d time.Duration) Option {
	return func(s *settings) error {
		if d < 0 {
			return &ValidationError{Field: "max wait", Rule: "must not be negative", Value: d}
		}
		s.maxWait = d
		return nil
	}
}

// WithLandingWindow sets how long after a failed attempt a message or file the Market
// may have been working on can still land in the chat (a gateway that answered 504
// while the Market went on, say). The send rule reads the chat's history only once this
// has passed (see the package doc's "Sending at most once"). It must be positive.
// Default: [DefaultLandingWindow].
func WithLandingWindow(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return &ValidationError{Field: "landing window", Rule: "must be positive", Value: d}
		}
		s.landing = d
		return nil
	}
}

// WithMaxInFlight bounds the requests in flight per business, across all goroutines
// using the client; further calls wait their turn. 0 removes the bound (the Market will
// then answer a fifth parallel request with 420). Default: [DefaultMaxInFlight].
func WithMaxInFlight(n int) Option {
	return func(s *settings) error {
		if n < 0 {
			return &ValidationError{Field: "max in flight", Rule: "must not be negative", Value: n}
		}
		s.maxInFlight = n
		return nil
	}
}

// WithLimits keeps the Market's limits (the in-flight slots of each business and the
// quota windows) in l, e.g. shared with other processes on the same token (package
// redislimit). It replaces [WithMaxInFlight]. Default: [NewLocalLimits].
func WithLimits(l Limits) Option {
	return func(s *settings) error {
		if l == nil {
			return &ValidationError{Field: "limits", Rule: "must not be nil", Value: l}
		}
		s.limits = l
		return nil
	}
}

// WithLogger logs one debug record per request (operation, business, attempt, status,
// duration, and the wait before the next attempt). Nothing is logged above debug level,
// and never the token. Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error { s.logger = l; return nil }
}

// WithRetryHook calls f before every wait: each retry and each wait for a quota reset.
// f runs on the calling goroutine and should return quickly.
func WithRetryHook(f func(RetryInfo)) Option {
	return func(s *settings) error { s.hook = f; return nil }
}

// WithClock replaces the system clock, for tests that make waits instant and exact.
func WithClock(c Clock) Option {
	return func(s *settings) error {
		if c == nil {
			return &ValidationError{Field: "clock", Rule: "must not be nil", Value: c}
		}
		s.clock = c
		return nil
	}
}

// New returns a client that authorizes with auth.
func New(auth Auth, opts ...Option) (*Client, error) {
	if err := auth.valid(); err != nil {
		return nil, err
	}
	s := settings{
		baseURL:     DefaultBaseURL,
		policy:      DefaultRetryPolicy(),
		maxWait:     DefaultMaxWait,
		landing:     DefaultLandingWindow,
		maxInFlight: DefaultMaxInFlight,
		clock:       systemClock{},
	}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return nil, err
		}
	}
	base, err := checkBaseURL(s.baseURL)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: DefaultAttemptTimeout, Transport: defaultTransport()}
	if s.httpClient != nil {
		copied := *s.httpClient
		hc = &copied
	}
	hc.CheckRedirect = keepTokenHome(base, auth, hc.CheckRedirect)

	logger := s.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if s.limits == nil {
		s.limits = NewLocalLimits(s.maxInFlight)
	}
	server := base.String()
	if server[len(server)-1] != '/' {
		server += "/" // the builders resolve paths against it: keep a path prefix
	}
	c := &Client{
		server:        server,
		base:          base,
		http:          hc,
		auth:          auth,
		authValue:     []string{auth.value},
		policy:        s.policy,
		maxWait:       s.maxWait,
		landing:       s.landing,
		downloadHosts: s.downloadHosts,
		sends:         newSendLog(),
		maxBody:       MaxResponseBytes,
		limits:        s.limits,
		logger:        logger,
		hook:          s.hook,
		clock:         s.clock,
		jitter:        rand.Int64N,
		market:        newMarketClock(),
	}
	return c, nil
}

// defaultTransport is Go's default transport with an idle pool sized for the limits
// the client enforces.
func defaultTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t = t.Clone()
	t.MaxIdleConns = DefaultMaxIdleConns
	t.MaxIdleConnsPerHost = DefaultMaxIdleConns
	return t
}

// String describes the client without its token.
func (c *Client) String() string {
	return "chatclient.Client{" + c.base.String() + ", " + c.auth.String() + "}"
}

// GoString is String, so that %#v does not print the token either.
func (c *Client) GoString() string { return c.String() }

// Quota returns the last known state of the hourly quota of op for businessID: its
// limit, what remains and when it resets (Until on the Market's clock, ResetAt on the
// local one). ok is false when nothing is known, or the window it was known for is
// over. With shared limits ([WithLimits]) it is what the whole fleet knows.
func (c *Client) Quota(ctx context.Context, businessID int64, op Operation) (rl RateLimit, ok bool) {
	now := c.clock.Now()
	rl, ok = c.limits.Snapshot(ctx, QuotaKey{BusinessID: businessID, Operation: op}, c.market.at(now))
	if ok && !rl.Until.IsZero() {
		rl.ResetAt = now.Add(rl.Until.Sub(c.market.at(now)))
	}
	return rl, ok
}

// Clock returns the clock the client tells time and waits by: the system clock,
// unless [WithClock] replaced it. Code built on the client (package inbox) waits by
// it too, so that one injected clock makes every wait of a test instant.
func (c *Client) Clock() Clock { return c.clock }

// MarketTime is the Market's time now, as the Date header of the latest answer tells
// (to the second, never ahead of the Market's clock); before any answer, the local
// time. Quota windows are kept on this clock.
func (c *Client) MarketTime() time.Time { return c.market.at(c.clock.Now()) }

// DefaultLandingWindow is how long, unless [WithLandingWindow] says otherwise, a send
// whose attempt failed may still land: a gateway that answered 504 while the Market
// worked on, a request the Market was still handling when the connection dropped.
const DefaultLandingWindow = 10 * time.Second
