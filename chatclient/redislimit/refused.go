package redislimit

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrRefused is wrapped by the error of a Redis that refuses the Limiter: a wrong or
// missing password, or an ACL user without the permissions it needs (+@scripting and
// ~<prefix>*). Unlike an outage it does not clear by itself, so the Limiter does not
// fall back to local limits for it: New or the call returns it.
var ErrRefused = errors.New("redislimit: Redis refuses the limiter")

// refusal returns the error for err when it is Redis refusing the Limiter's credentials
// or permissions, nil otherwise. Redis's own message never holds the password, nor does
// this one.
func refusal(err error, prefix string) error {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return nil
	}
	var hint string
	switch msg := rerr.Error(); {
	case strings.Contains(msg, "NOAUTH"):
		hint = "Redis needs a password and the client sends none"
	case strings.Contains(msg, "WRONGPASS"):
		hint = "the Redis username or password is wrong"
	case strings.Contains(msg, "NOPERM"),
		// Redis 7.0's words for a key a script may not touch.
		strings.Contains(msg, "The user executing the script can't"):
		hint = "the Redis user lacks a permission: it needs +@scripting and ~" + prefix + "*"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s: %w", ErrRefused, hint, err)
}
