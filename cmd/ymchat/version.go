package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
)

// version says which ymchat this is: the module's version (chatclient.Version, the one
// rule the whole module follows) and the VCS revision from the build info.
func version() string {
	v := chatclient.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev != "" {
		v += fmt.Sprintf(" (%.12s%s)", rev, modified)
	}
	return v
}

func newVersionCommand(e *env) *cobra.Command {
	return sessionless(&cobra.Command{
		Use:   "version",
		Short: "Print ymchat's version and VCS revision",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(e.stdout, "ymchat "+version())
			return err
		},
	})
}
