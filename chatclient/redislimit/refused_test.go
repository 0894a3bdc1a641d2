package redislimit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// newOn returns a Limiter on a client of opts with lopts, or New's error.
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
	for _, tc := range []struct{ name, password, want string }{
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
	done(l, admit(t, l, getChat, time.Now()), nil, time.Now())
	if l.Degraded() {
		t.Fatal("degraded with the right password")
	}
}

// An ACL user that may not run scripts, or touch the Limiter's keys, is refused at New;
// one whose permission is taken away later gets the refusal from its next call, not
// local limits.
func TestRefusedACLUser(t *testing.T) {
	noLeaks(t)
	addr := realRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	ctx := context.Background()
	for _, rule := range [][]any{
		{"ACL", "SETUSER", "noscript", "on", ">pw1", "~*", "+@all", "-@scripting"},
		{"ACL", "SETUSER", "limiter", "on", ">pw2", "~*", "+@all"},
		{"ACL", "SETUSER", "otherkeys", "on", ">pw3", "~other:*", "+@all"},
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

	l, err := newOn(t, &redis.Options{Addr: addr, Username: "limiter", Password: "pw2"})
	if err != nil {
		t.Fatal(err)
	}
	done(l, admit(t, l, getChat, time.Now()), nil, time.Now())
	if err := admin.Do(ctx, "ACL", "SETUSER", "limiter", "-@scripting").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit(ctx, getChat, nil, time.Now()); !errors.Is(err, redislimit.ErrRefused) {
		t.Fatalf("Admit once the user lost +@scripting: %v, want ErrRefused", err)
	}
	if l.Degraded() {
		t.Fatal("a refusal taken for an outage: the Limiter fell back to local limits")
	}
}
