package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newProfilesCommand(e *env, o *options) *cobra.Command {
	return &cobra.Command{
		// The listing is how one finds a profile's name: a wrong --profile or
		// YM_PROFILE must not stop it, so the root does not resolve the settings first.
		Annotations: map[string]string{lenientKey: "true"},
		Use:         "profiles",
		Short:       "List the profiles of the config file, and which one is in use",
		Long: `List the named profiles of the config file, ymchat/config.json under the
user's config directory (~/.config on Linux, ~/Library/Application Support on
macOS, %AppData% on Windows), and mark the one in use: --profile NAME, else
YM_PROFILE, else the file's "default". A profile holds a business id, a base
URL, the path of a token file (relative to the config file's directory) and a
Redis URL:

` + configExample + `

Each value comes from, in this order: its flag, its environment variable, the
profile, the default. The help of every command says where each value comes
from now.

A profile never holds the token itself: a config file gets copied, shared and
backed up, so the token lives in a file of its own that only you can read
(chmod 600). ymchat refuses a token file that others can read, as ssh refuses
such a key, and a config file with a "token" in it.`,
		Example: `  ymchat profiles
  ymchat --profile local chats`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := configPath(e)
			if path == "" {
				return usagef("no user config directory (is $HOME set?)")
			}
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			s, err := o.resolve(cmd, e)
			if err != nil {
				msg, _ := explain(err)
				fmt.Fprintln(e.stderr, "ymchat: "+msg)
			}
			return printProfiles(e, path, cfg, s.profile)
		},
	}
}

// printProfiles lists the profiles, the one in use marked with "*".
func printProfiles(e *env, path string, cfg *config, inUse string) error {
	w := e.stdout
	if len(cfg.Profiles) == 0 {
		_, err := fmt.Fprintf(w, "no profiles in %s; its form is\n%s\n", path, configExample)
		return err
	}
	fmt.Fprintf(w, "profiles in %s:\n", path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tBUSINESS\tBASE URL\tTOKEN FILE\tREDIS")
	names := make([]string, 0, len(cfg.Profiles))
	for name := range cfg.Profiles {
		names = append(names, name)
	}
	slices.Sort(names)
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, name := range names {
		p := cfg.Profiles[name]
		mark := " "
		if name == inUse {
			mark = "*"
		}
		business := "-"
		if p.Business != 0 {
			business = fmt.Sprint(p.Business)
		}
		redisURL := "-"
		if p.Redis != "" {
			redisURL = "set" // a Redis URL may hold a password
			if host, ok := strings.CutPrefix(p.Redis, "redis://"); ok && !strings.Contains(host, "@") {
				redisURL = p.Redis
			}
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\n", mark, name, business, dash(p.BaseURL), dash(p.TokenFile), redisURL)
	}
	return tw.Flush()
}
