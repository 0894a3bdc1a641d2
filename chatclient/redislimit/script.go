package redislimit

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
)

// limiterLua is the Limiter's one script: every operation that reads and writes
// several keys at once is a branch of it, named by its first argument.
//
//go:embed limiter.lua
var limiterLua string

var script = redis.NewScript(limiterLua)

// Answer codes of the script; limiter.lua names them alike.
const (
	answerRefused = 0 // the quota has no room (renew: the slot is gone)
	answerTaken   = 1 // what was asked for is taken
	answerWait    = 2 // every slot is held, or promised to callers that came first
)

// run runs the script's operation op on key's keys, bounded by the op timeout and ctx.
func (l *Limiter) run(ctx context.Context, key chatclient.QuotaKey, op string, args ...any) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.opTimeout)
	defer cancel()
	base := l.cfg.prefix + "{" + strconv.FormatInt(key.BusinessID, 10) + "}:"
	keys := []string{base + "leases", base + "queue", base + "seen",
		base + string(key.Operation) + ":window", base + string(key.Operation) + ":reserved"}
	v, err := script.Run(ctx, l.rdb, keys, append([]any{op}, args...)...).Int64Slice()
	if err == nil && len(v) == 0 {
		err = fmt.Errorf("redislimit: the script's %s answered nothing", op)
	}
	return v, err
}
