package main

import "github.com/spf13/cobra"

// addCompletionCommand adds cobra's completion command (the scripts for bash, zsh,
// fish and PowerShell) when the root is made rather than when it runs, so that it
// is marked sessionless like the other commands that need no account.
func addCompletionCommand(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	// Find, unlike Commands, leaves the commands in the order they were added, which
	// is the order of cobra's "Did you mean" suggestions.
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		sessionless(c)
	}
}
