package redislimit_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// New refuses a nil client, one that does not honour deadlines, and bad options.
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
		} else {
			t.Log(err)
		}
	}
}
