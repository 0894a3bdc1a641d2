package inbox

import (
	"context"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// quotaWindow is the window of the Market's quotas: they are hourly.
const quotaWindow = time.Hour

// documentedLimit is an operation's hourly quota as the Market documents it, used
// until an answer tells the live one.
var documentedLimit = map[chatclient.Operation]int64{
	chatclient.OpGetChats:       10_000,
	chatclient.OpGetChatHistory: 10_000,
}

// interval is how long to wait before the next sweep: long enough that sweeps spend
// at most the configured share of the getChats quota (a page per 20 chats), and that
// the history reads they cause (as many as since the last sweep) stay within the share
// of the getChatHistory quota, but at most an hour for those; never shorter than the
// minimum interval; and, when the live quota has less left than a sweep needs, until
// it resets.
func (ib *Inbox) interval(ctx context.Context) time.Duration {
	ib.mu.Lock()
	chats := ib.chats
	ib.mu.Unlock()
	pages := max(int64((chats+chatclient.MaxPageSize-1)/chatclient.MaxPageSize), 1)
	wait := ib.cfg.minInterval
	for op, cost := range map[chatclient.Operation]int64{
		chatclient.OpGetChats:       pages,
		chatclient.OpGetChatHistory: ib.reads.Swap(0),
	} {
		limit := documentedLimit[op]
		rl, ok := ib.client.Quota(ctx, ib.business, op)
		if ok && rl.Limit > 0 {
			limit = rl.Limit
		}
		p := pace(ib.cfg.share, cost, limit)
		if op == chatclient.OpGetChatHistory {
			// The reads are the last period's, a guess at the next sweep's: after
			// the first pass over a large business (a read per chat) it would put
			// the next sweep days away. Reads spent are behind us once the hourly
			// quota renews, so they never hold the sweeps back longer than that.
			p = min(p, quotaWindow)
		}
		wait = max(wait, p)
		if ok && rl.Remaining >= 0 && rl.Remaining < cost && !rl.ResetAt.IsZero() {
			wait = max(wait, rl.ResetAt.Sub(ib.cfg.clock.Now()))
		}
	}
	return wait
}

// pace is the interval at which spending cost requests a time takes at most share of
// an hourly quota of limit.
func pace(share float64, cost, limit int64) time.Duration {
	if cost <= 0 || limit <= 0 {
		return 0
	}
	perHour := share * float64(limit) / float64(cost) // sweeps an hour
	return time.Duration(float64(quotaWindow) / perHour)
}
