package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK          = 0
	exitAPI         = 1
	exitUsage       = 2
	exitRateLimited = 3
	exitInterrupted = 130
)

// exitCodes are the exit codes of the failures explain tells apart.
var exitCodes = map[failure]int{
	failedAPI:         exitAPI,
	failedUsage:       exitUsage,
	failedRateLimited: exitRateLimited,
}

// newRoot is the ymchat command: the flags every command shares, and the commands.
func newRoot(ctx context.Context, e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "ymchat",
		Short: "Look at a seller's Yandex Market chats",
		Long: `ymchat lists, reads and starts chats with customers through the Yandex Market
Partner API, within the Market's request limits.

Try it with no account: ymchat demo. Any command runs against the built-in fake
Market with --fake; ymchat fake serves one that ymchat trigger drives from
another shell.

The token comes from --token-file, YM_API_KEY or a profile's token file; the
business from --business, YM_BUSINESS_ID or a profile (ymchat profiles).

Several processes on the same token share the Market's limits (4 requests in
flight, the hourly quotas) when each is given the same Redis with --redis URL
or YM_REDIS_URL.

Times in JSON output (--json, --jsonl, listen, inbox) are RFC 3339 in UTC, to
the second (2026-11-22T09:00:00Z); tables and transcripts show Moscow time
(MSK), the Market's own.

Exit codes: 0 success, 1 API or network error, 2 usage error, 3 rate limited,
130 interrupted (Ctrl-C).`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(e.stdout)
	root.SetVersionTemplate("ymchat {{.Version}}\n")
	root.SetErr(e.stderr)
	root.SetContext(ctx)
	o := sessionFlags(root, e)
	root.AddCommand(
		newChatsCommand(e, o),
		newChatCommand(e, o),
		newDemoCommand(e, o),
		newListenCommand(e),
		newInboxCommand(e, o),
		newFakeCommand(e),
		newTriggerCommand(e, o),
		newProfilesCommand(e, o),
		newVersionCommand(e),
	)
	addCompletionCommand(root)
	refuseUnknownCommands(root)
	return root
}

// refuseUnknownCommands makes a word that is no command of a group (ymchat chat hist)
// a usage error with cobra's suggestions, rather than the group's help and exit 0: a
// script with a typo must not look as if it worked.
func refuseUnknownCommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownCommands(sub)
	}
	if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.SuggestionsMinimumDistance = 2
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError{msg + " (see " + cmd.CommandPath() + " --help)"}
	}
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	e.args = args
	root := newRoot(ctx, e)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		// Interrupted (Ctrl-C, SIGTERM): the user knows; say nothing more.
		return exitInterrupted
	}
	msg, failed := explain(err)
	fmt.Fprintln(e.stderr, "ymchat: "+msg)
	return exitCodes[failed]
}
