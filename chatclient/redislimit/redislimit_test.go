package redislimit_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

func TestNewValidates(t *testing.T) {
	noLeaks(t)
	if _, err := redislimit.New(nil); err == nil {
		t.Error("nil client accepted")
	}
	c := redis.NewClient(&redis.Options{Addr: shared.Addr})
	defer c.Close()
	if _, err := redislimit.New(c); err == nil {
		t.Error("a client without ContextTimeoutEnabled accepted")
	}
	for _, o := range []redislimit.Option{
		redislimit.WithMaxInFlight(-1), redislimit.WithLeaseTTL(0), redislimit.WithOpTimeout(0),
		redislimit.WithProbeInterval(0), redislimit.WithReservationTTL(0), redislimit.WithLogger(nil),
		redislimit.WithFleetSize(0),
	} {
		if _, err := redislimit.New(client(t), o); err == nil {
			t.Error("a bad option accepted")
		}
	}
	// No bound: Acquire touches nothing.
	l := limiter(t, client(t), redislimit.WithMaxInFlight(0))
	r, err := l.Acquire(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	r()
}

// newOn returns a Limiter on a client of addr with opts, or New's error.
func newOn(t *testing.T, opts *redis.Options, lopts ...redislimit.Option) (*redislimit.Limiter, error) {
	t.Helper()
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	l, err := redislimit.New(rdb, append([]redislimit.Option{redislimit.WithOpTimeout(5 * time.Second)}, lopts...)...)
	if err == nil {
		t.Cleanup(func() { l.Close() })
	}
	return l, err
}

// A wrong or missing password is no outage: New says so, without the password.
func TestNewRefusesBadPassword(t *testing.T) {
	noLeaks(t)
	const secret, wrong = "s3cret-horse", "wr0ng-battery"
	addr := realRedis(t, "--requirepass", secret)
	for _, tc := range []struct {
		name, password, want string
	}{
		{"wrong", wrong, "password is wrong"},
		{"missing", "", "sends none"},
	} {
		_, err := newOn(t, &redis.Options{Addr: addr, Password: tc.password})
		if !errors.Is(err, redislimit.ErrRefused) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s password: New said %v, want an ErrRefused saying %q", tc.name, err, tc.want)
		} else if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), wrong) {
			t.Errorf("%s password: the error holds a password: %v", tc.name, err)
		} else {
			t.Logf("%s password: %v", tc.name, err)
		}
	}
	l, err := newOn(t, &redis.Options{Addr: addr, Password: secret})
	if err != nil {
		t.Fatal(err)
	}
	admit(t, context.Background(), l, getChat, time.Now()).Done(context.Background(), nil, time.Now(), false)
	if l.Degraded() {
		t.Fatal("degraded with the right password")
	}
}

// An ACL user that may not run scripts is refused at New; one whose permission is taken
// away later gets the refusal from its next call, not local limits.
func TestRefusedACLUser(t *testing.T) {
	noLeaks(t)
	addr := realRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	ctx := context.Background()
	for _, rule := range [][]any{
		{"ACL", "SETUSER", "noscript", "on", ">pw1", "~*", "&*", "+@all", "-@scripting"},
		{"ACL", "SETUSER", "limiter", "on", ">pw2", "~*", "&*", "+@all"},
		{"ACL", "SETUSER", "otherkeys", "on", ">pw3", "~other:*", "&*", "+@all"},
		{"ACL", "SETUSER", "nochannel", "on", ">pw4", "~*", "resetchannels", "+@all"},
	} {
		if err := admin.Do(ctx, rule...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	_, err := newOn(t, &redis.Options{Addr: addr, Username: "noscript", Password: "pw1"})
	if !errors.Is(err, redislimit.ErrRefused) || !strings.Contains(err.Error(), "+@scripting") {
		t.Fatalf("New for a user without +@scripting: %v, want an ErrRefused naming +@scripting", err)
	}
	t.Logf("user without +@scripting: %v", err)
	_, err = newOn(t, &redis.Options{Addr: addr, Username: "otherkeys", Password: "pw3"})
	if !errors.Is(err, redislimit.ErrRefused) {
		t.Fatalf("New for a user without access to the keys: %v, want an ErrRefused", err)
	}
	t.Logf("user without access to the keys: %v", err)
	_, err = newOn(t, &redis.Options{Addr: addr, Username: "nochannel", Password: "pw4"})
	if !errors.Is(err, redislimit.ErrRefused) {
		t.Fatalf("New for a user without access to the channel: %v, want an ErrRefused", err)
	}
	t.Logf("user without access to the channel: %v", err)

	l, err := newOn(t, &redis.Options{Addr: addr, Username: "limiter", Password: "pw2"})
	if err != nil {
		t.Fatal(err)
	}
	admit(t, ctx, l, getChat, time.Now()).Done(ctx, nil, time.Now(), false)
	if err := admin.Do(ctx, "ACL", "SETUSER", "limiter", "-@scripting").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit(ctx, getChat, time.Now()); !errors.Is(err, redislimit.ErrRefused) {
		t.Fatalf("Admit once the user lost +@scripting: %v, want ErrRefused", err)
	}
	if _, err := l.Acquire(ctx, 100); !errors.Is(err, redislimit.ErrRefused) {
		t.Fatalf("Acquire once the user lost +@scripting: %v, want ErrRefused", err)
	}
	if _, err := l.Reserve(ctx, getChat, time.Now()); !errors.Is(err, redislimit.ErrRefused) {
		t.Fatalf("Reserve once the user lost +@scripting: %v, want ErrRefused", err)
	}
	if l.Degraded() {
		t.Fatal("a refusal taken for an outage: the Limiter fell back to local limits")
	}
}

// An outage at New is not an error: the Limiter starts on local limits, warning once.
func TestNewWithRedisDownStartsLocal(t *testing.T) {
	noLeaks(t)
	logs := newLogCounter()
	l, err := newOn(t, &redis.Options{Addr: "127.0.0.1:1"}, redislimit.WithLogger(slog.New(logs)),
		redislimit.WithOpTimeout(redislimit.DefaultOpTimeout))
	if err != nil {
		t.Fatal(err)
	}
	if !l.Degraded() || logs.count(slog.LevelWarn) != 1 {
		t.Fatalf("degraded %v, log %v", l.Degraded(), logs.lines)
	}
	admit(t, context.Background(), l, getChat, time.Now()).Done(context.Background(), nil, time.Now(), false)
}

// While Redis hangs (CLIENT PAUSE), a call with a 50 ms deadline returns its
// DeadlineExceeded at the deadline, long before the pause ends, although the op
// timeout is longer than the pause; what it left in Redis is cleaned up after.
func TestDeadlineHoldsWhileRedisPaused(t *testing.T) {
	noLeaks(t)
	const pause = 3 * time.Second
	addr := realRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	ctx := context.Background()
	l, err := newOn(t, &redis.Options{Addr: addr}, redislimit.WithPrefix(prefix(t)),
		redislimit.WithOpTimeout(2*pause))
	if err != nil {
		t.Fatal(err)
	}
	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	c, err := chatclient.New(chatclient.APIKey(chattest.DefaultToken), chatclient.WithBaseURL(srv.URL),
		chatclient.WithLeases(l), chatclient.WithQuotas(l))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetChat(ctx, 100, 5000001); err != nil { // warms the connections
		t.Fatal(err)
	}

	if err := admin.Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	const deadline = 50 * time.Millisecond
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Admit", func(ctx context.Context) error { _, err := l.Admit(ctx, getChat, time.Now()); return err }},
		{"Acquire", func(ctx context.Context) error { _, err := l.Acquire(ctx, 100); return err }},
		{"Reserve", func(ctx context.Context) error { _, err := l.Reserve(ctx, getChat, time.Now()); return err }},
		{"GetChat", func(ctx context.Context) error { _, err := c.GetChat(ctx, 100, 5000001); return err }},
	}
	for _, tc := range calls {
		cctx, cancel := context.WithTimeout(ctx, deadline)
		start := time.Now()
		err := tc.call(cctx)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s while Redis is paused: %v, want DeadlineExceeded", tc.name, err)
		}
		if took > time.Second || time.Since(paused) >= pause {
			t.Errorf("%s took %v with a %v deadline: it waited for the pause", tc.name, took, deadline)
		}
		t.Logf("%s returned %v after its start (deadline %v, overshoot %v)", tc.name, took.Round(time.Millisecond), deadline, (took - deadline).Round(time.Millisecond))
	}
	// After the pause what the calls cut short left behind is given back.
	eventually(t, 4*pause, "the clean-ups after the pause", func() bool {
		n := int64(0)
		for _, k := range []string{"leases", "queue", "seen", "getChat:reserved"} {
			m, err := admin.ZCard(ctx, prefix(t)+"{100}:"+k).Result()
			if err != nil {
				return false
			}
			n += m
		}
		return n == 0
	})
	if l.Degraded() {
		t.Fatal("degraded by calls whose deadline cut them short")
	}
}
