package redislimit

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
)

// limiterLua is the Limiter's one script: every operation that reads and writes
// several keys at once is a branch of it, named by its first argument.
//
//go:embed limiter.lua
var limiterLua string

var script = redis.NewScript(limiterLua)

// Answer codes of the script (limiter.lua names them alike).
const (
	// answerRefused: the quota has no room (renew: the lease is gone).
	answerRefused = 0
	// answerTaken: what was asked for is taken.
	answerTaken = 1
	// answerWait: every slot is held, or promised to callers that came first.
	answerWait = 2
)

// run runs the script's operation op on keys and returns its answer.
func (l *Limiter) run(ctx context.Context, keys []string, op string, args ...any) ([]int64, error) {
	v, err := script.Run(ctx, l.rdb, keys, append([]any{op}, args...)...).Int64Slice()
	if err == nil && len(v) == 0 {
		err = fmt.Errorf("redislimit: the %s script answered nothing", op)
	}
	return v, err
}

// keys names what the script touches for one business and (when op is not empty) one
// operation's quota: see limiter.lua. All carry the business's hash tag.
func (l *Limiter) keys(business int64, op chatclient.Operation) []string {
	base := l.cfg.prefix + "{" + strconv.FormatInt(business, 10) + "}:"
	ks := []string{base + "leases", base + "queue", base + "seen"}
	if op != "" {
		ks = append(ks, base+string(op)+":window", base+string(op)+":reserved")
	}
	return ks
}

// done runs the script's done operation: it gives back reservation res ("" for none)
// recording report (nil: nothing), what the answer said of the quota at now, the
// Market's time, and the lease and the place in the queue of id lease ("" for none).
func (l *Limiter) done(ctx context.Context, keys []string, res, lease string, report *chatclient.RateLimit, now time.Time) error {
	args := []any{res, lease, l.cfg.max, l.turns(), now.UnixMilli(), "0", -1, -1, 0, windowSlack.Milliseconds()}
	if report != nil {
		args[5], args[6], args[7], args[8] = "1", report.Limit, report.Remaining, report.Until.UnixMilli()
	}
	_, err := l.run(ctx, keys, "done", args...)
	return err
}

// turns is the channel on which the script announces whose turn it is.
func (l *Limiter) turns() string { return l.cfg.prefix + "turns" }
