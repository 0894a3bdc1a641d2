package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// flagOf names the command-line flag behind a field the client rejected.
var flagOf = map[string]string{
	"businessId":          "--business",
	"chatId":              "CHAT_ID",
	"messageId":           "MESSAGE_ID",
	"message":             "--message",
	"file":                "PATH",
	"file name":           "PATH",
	"limit":               "--limit",
	"filter.statuses":     "--status",
	"filter.types":        "--type",
	"filter.contextTypes": "--context-type",
	"filter.subjects":     "--order/--return",
	"context":             "--order/--return",
	"base URL":            "--base-url",
	"landing window":      "--landing-window",
	"auth":                "token",
}

// explain turns an error into a message for people and an exit code.
func explain(err error) (string, int) {
	var (
		ue  usageError
		ve  *chatclient.ValidationError
		rle *chatclient.RateLimitError
		mde *chatclient.MaybeDeliveredError
	)
	switch {
	case errors.As(err, &mde):
		return maybeDelivered(mde), exitAPI
	case errors.As(err, &ue):
		return ue.msg, exitUsage
	case errors.As(err, &ve):
		return fmt.Sprintf("invalid %s: %s (got %v)", flagName(ve.Field), ve.Rule, ve.Value), exitUsage
	case errors.As(err, &rle):
		quota := ""
		if rle.Limit >= 0 {
			quota = fmt.Sprintf(" (quota %d/h)", rle.Limit)
		}
		return fmt.Sprintf("rate limited until %s%s; retry later or raise --max-wait",
			rle.Until.In(msk).Format("2006-01-02 15:04:05 MST"), quota), exitRateLimited
	case errors.Is(err, chatclient.ErrUnauthorized):
		return "unauthorized: check YM_API_KEY (or --token-file)", exitAPI
	case errors.Is(err, chatclient.ErrForbidden):
		return "forbidden: the token is wrong or lacks access to this business; check YM_API_KEY and --business", exitAPI
	case errors.Is(err, chatclient.ErrRateLimited):
		return "rate limited: " + err.Error(), exitRateLimited
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out (see --timeout): " + err.Error(), exitAPI
	}
	// Cobra's own complaints about the command line.
	if msg := err.Error(); strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires ") || strings.HasPrefix(msg, "if any flags in the group") {
		return err.Error() + " (see --help)", exitUsage
	}
	return err.Error(), exitAPI
}

// flagName maps "filter.statuses[1]" to "--status" and so on.
func flagName(field string) string {
	base, _, _ := strings.Cut(field, "[")
	if f, ok := flagOf[base]; ok {
		return f
	}
	if base, _, ok := strings.Cut(field, "."); ok {
		if f, ok := flagOf[base]; ok {
			return f
		}
	}
	return field
}

// age says how long ago t was, in the largest whole unit.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// maybeDelivered explains a send that may have reached the Market, by what the chat's
// history told.
func maybeDelivered(e *chatclient.MaybeDeliveredError) string {
	what := "message"
	if e.Operation == chatclient.OpSendFileToChat {
		what = "file"
	}
	head := fmt.Sprintf("the %s may or may not have reached chat %d: sending failed (%v)", what, e.ChatID, e.Err)
	look := fmt.Sprintf("Look at the chat (ymchat chat history %d) before sending it again", e.ChatID)
	switch {
	case errors.Is(e.CheckErr, chatclient.ErrNotInHistory):
		return fmt.Sprintf("%s, and the chat's history, read once it could no longer land, does not hold it: "+
			"the Market did not act as far as the history tells, so sending it again is safe", head)
	case errors.Is(e.CheckErr, chatclient.ErrIndistinguishable):
		return fmt.Sprintf("%s; the chat holds an identical %s sent around the same time, which may be this one or "+
			"an earlier one. %s", head, what, look)
	case errors.Is(e.CheckErr, chatclient.ErrSettleLater):
		return fmt.Sprintf("%s, and it could still land until %s, past this command's --timeout or --max-wait. "+
			"%s after then", head, e.SettleAfter.In(msk).Format("15:04:05 MST"), look)
	}
	return fmt.Sprintf("%s, and reading the chat's history to check failed too (%v). %s", head, e.CheckErr, look)
}
