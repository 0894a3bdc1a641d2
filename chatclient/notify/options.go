package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Defaults and limits of a [Handler].
const (
	// DefaultTimeout is how long the user's function may run per notification.
	DefaultTimeout = 8 * time.Second
	// MaxTimeout is the longest [WithTimeout] accepts: the Market gives up after 10 s,
	// and the answer still has to travel back through proxies.
	MaxTimeout = 9 * time.Second
	// DefaultMaxBodySize is the largest body read (1 MiB); notifications are a few
	// hundred bytes.
	DefaultMaxBodySize = 1 << 20
	// DefaultName is the integration name reported in every 200 answer.
	DefaultName = "ymchat"
)

// MarketNetworks are the networks the Market sends notifications from, as the vendor
// publishes them. Pass them to [WithAllowedNetworks]; the option copies the list.
var MarketNetworks = []netip.Prefix{
	netip.MustParsePrefix("5.45.207.0/25"),
	netip.MustParsePrefix("141.8.142.0/25"),
	netip.MustParsePrefix("5.255.253.0/25"),
}

// An Option configures a [Handler]; see [NewHandler].
type Option func(*config) error

type config struct {
	onCreated  func(context.Context, ChatCreated) error
	onSent     func(context.Context, ChatMessageSent) error
	onStarted  func(context.Context, ChatArbitrageStarted) error
	onFinished func(context.Context, ChatArbitrageFinished) error
	onOther    func(context.Context, Other) error
	onAny      func(context.Context, Notification) error
	timeout    time.Duration
	maxBody    int64
	allowed    []netip.Prefix
	restrict   bool
	trusted    []netip.Prefix
	dedup      int
	name       string
	version    string
	logger     *slog.Logger
	now        func() time.Time
}

// OnChatCreated sets the function called for each [ChatCreated].
func OnChatCreated(fn func(context.Context, ChatCreated) error) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("notify: OnChatCreated: nil function")
		}
		c.onCreated = fn
		return nil
	}
}

// OnChatMessageSent sets the function called for each [ChatMessageSent].
func OnChatMessageSent(fn func(context.Context, ChatMessageSent) error) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("notify: OnChatMessageSent: nil function")
		}
		c.onSent = fn
		return nil
	}
}

// OnChatArbitrageStarted sets the function called for each [ChatArbitrageStarted].
func OnChatArbitrageStarted(fn func(context.Context, ChatArbitrageStarted) error) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("notify: OnChatArbitrageStarted: nil function")
		}
		c.onStarted = fn
		return nil
	}
}

// OnChatArbitrageFinished sets the function called for each [ChatArbitrageFinished].
func OnChatArbitrageFinished(fn func(context.Context, ChatArbitrageFinished) error) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("notify: OnChatArbitrageFinished: nil function")
		}
		c.onFinished = fn
		return nil
	}
}

// OnOther sets the function called for each notification of a type this package does
// not decode ([Other]). Without it (and without [OnNotification]) such notifications
// are answered 200 and dropped.
func OnOther(fn func(context.Context, Other) error) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("notify: OnOther: nil function")
		}
		c.onOther = fn
		return nil
	}
}

// OnNotification sets the catch-all: the function called for every notification
// (other than PING) whose type has no function of its own set with OnChatCreated,
// OnChatMessageSent, OnChatArbitrageStarted, OnChatArbitrageFinished or OnOther.
func OnNotification(fn func(context.Context, Notification) error) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("notify: OnNotification: nil function")
		}
		c.onAny = fn
		return nil
	}
}

// WithTimeout sets how long the user's function may run for one notification
// (default [DefaultTimeout]; 0 < d ≤ [MaxTimeout]). When it runs longer the handler
// answers 500 at the deadline and cancels the function's context. The context is not
// cancelled when the caller hangs up: repeats may be waiting for the outcome, and
// [WithDedup] remembers a success that comes late. A repeat waiting for a running
// function waits at most d from its own arrival.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > MaxTimeout {
			return fmt.Errorf("notify: WithTimeout(%v): want 0 < d <= %v", d, MaxTimeout)
		}
		c.timeout = d
		return nil
	}
}

// WithMaxBodySize sets the largest body read, in bytes (default
// [DefaultMaxBodySize]). A larger body is answered 400 WRONG_EVENT_FORMAT: the Market
// would send the same body again, so a retryable 500 would never succeed.
func WithMaxBodySize(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("notify: WithMaxBodySize(%d): want n > 0", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithAllowedNetworks accepts requests only from the given networks (usually
// [MarketNetworks]); others are answered 403. The address checked is the direct peer,
// or the one [WithTrustedProxies] finds. Without this option every address is
// accepted. Repeated uses add up; an empty list is an error rather than a handler
// that refuses everybody.
func WithAllowedNetworks(prefixes ...netip.Prefix) Option {
	return func(c *config) error {
		if len(prefixes) == 0 {
			return fmt.Errorf("notify: WithAllowedNetworks: no networks")
		}
		ps, err := masked("WithAllowedNetworks", prefixes)
		if err != nil {
			return err
		}
		c.allowed = append(c.allowed, ps...)
		c.restrict = true
		return nil
	}
}

// WithTrustedProxies names the reverse proxies in front of the handler. When the
// direct peer is in one of these networks, the client address is taken from
// X-Forwarded-For, read right to left, skipping addresses of trusted proxies; the
// first other address is the client (an unparsable entry is taken as a client that
// no network allows). Without a trusted peer, X-Forwarded-For is ignored: anybody
// can write it. Repeated uses add up.
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return func(c *config) error {
		ps, err := masked("WithTrustedProxies", prefixes)
		if err != nil {
			return err
		}
		c.trusted = append(c.trusted, ps...)
		return nil
	}
}

func masked(name string, prefixes []netip.Prefix) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() {
			return nil, fmt.Errorf("notify: %s: invalid prefix %v", name, p)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// WithDedup remembers the last n notifications handled successfully (n ≥ 0; 0, the
// default, turns de-duplication off). A repeat of one of them is answered 200 without
// calling user code. A notification is remembered when its function returns nil, even
// after its answer went out (500 at the deadline, or the Market hung up), so that the
// Market's retry is answered 200 without running it again; one that failed is
// handled again when the Market retries. A repeat that arrives while the function is
// still running for the same notification does not run it beside it: it waits for
// that run (within its own timeout, else 500) and gets the same answer, 200 or 500.
//
// Repeats are recognised by type, business, chat and message id or event time; for
// [Other] by the whole body. Each remembered notification costs a fixed-size digest
// (16 bytes of SHA-256, plus the map: about 50 bytes in all) whatever the size of its
// ids, so the set takes at most about 50 MiB for n = 1,000,000; the memory is taken
// as the set fills, not up front. When full, the oldest entry is forgotten first.
func WithDedup(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("notify: WithDedup(%d): want n >= 0", n)
		}
		c.dedup = n
		return nil
	}
}

// WithName sets the integration name reported in 200 answers (default
// [DefaultName]; 1 to 100 characters).
func WithName(name string) Option {
	return func(c *config) error {
		if err := checkLabel("WithName", name); err != nil {
			return err
		}
		c.name = name
		return nil
	}
}

// WithVersion sets the version reported in 200 answers (1 to 100 characters). The
// default is the version of module github.com/ymchat/ymchat in the binary's build
// information, or "devel".
func WithVersion(version string) Option {
	return func(c *config) error {
		if err := checkLabel("WithVersion", version); err != nil {
			return err
		}
		c.version = version
		return nil
	}
}

func checkLabel(name, s string) error {
	if n := len([]rune(s)); n < 1 || n > 100 {
		return fmt.Errorf("notify: %s(%q): want 1 to 100 characters", name, s)
	}
	return nil
}

// WithLogger sets where rejections, failures and panics are logged (default
// [slog.Default] at the time [NewHandler] runs).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("notify: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithClock sets the clock the handler reads for the time in its 200 answers
// (default [time.Now]); meant for tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("notify: WithClock: nil function")
		}
		c.now = now
		return nil
	}
}
