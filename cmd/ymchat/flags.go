package main

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ymchat/ymchat/chatclient"
)

// parseID reads an id typed for name (an argument such as CHAT_ID, a flag such as
// --order, or the variable YM_BUSINESS_ID). Every id of the Market is a whole number
// of at least 1; anything else is a usage error naming where it was typed and what,
// in the same words everywhere, before a request is made.
func parseID(name, s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id < 1 {
		return 0, usagef("invalid %s %q: must be a whole number of at least 1", name, s)
	}
	return id, nil
}

// parseMessageRef reads the CHAT_ID MESSAGE_ID pair of the commands that name one
// message.
func parseMessageRef(args []string) (chatID, messageID int64, err error) {
	if chatID, err = parseID("CHAT_ID", args[0]); err != nil {
		return 0, 0, err
	}
	messageID, err = parseID("MESSAGE_ID", args[1])
	return chatID, messageID, err
}

// idFlag defines a flag holding one id: help shows it as ID, with no default.
func idFlag(fs *pflag.FlagSet, p *int64, name, usage string) {
	fs.Var(idValue{p, "--" + name}, name, usage)
}

// idsFlag defines a flag holding ids, repeated or comma-separated: help shows it as
// IDs, with no default. typed keeps each id as typed, for error messages.
func idsFlag(fs *pflag.FlagSet, ids *[]int64, typed *[]string, name, usage string) {
	fs.Var(idsValue{ids, typed, "--" + name}, name, usage)
}

// idValue is the value of an idFlag; name is the flag's, for errors.
type idValue struct {
	p    *int64
	name string
}

func (v idValue) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	return strconv.FormatInt(*v.p, 10)
}

func (v idValue) Set(s string) error {
	id, err := parseID(v.name, s)
	if err != nil {
		return err
	}
	*v.p = id
	return nil
}

func (idValue) Type() string { return "ID" }

// idsValue is the value of an idsFlag; name is the flag's, for errors.
type idsValue struct {
	ids   *[]int64
	typed *[]string
	name  string
}

func (v idsValue) String() string {
	if v.ids == nil || len(*v.ids) == 0 {
		return ""
	}
	parts := make([]string, len(*v.ids))
	for i, id := range *v.ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

func (v idsValue) Set(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		id, err := parseID(v.name, part)
		if err != nil {
			return err
		}
		*v.ids = append(*v.ids, id)
		*v.typed = append(*v.typed, strings.TrimSpace(part))
	}
	return nil
}

func (idsValue) Type() string { return "IDs" }

// shareFlag defines a flag holding a share of something: above 0, at most 1. A value
// out of range is refused as it is typed, naming the flag.
func shareFlag(fs *pflag.FlagSet, p *float64, name string, value float64, usage string) {
	*p = value
	fs.Var(shareValue{p, "--" + name}, name, usage)
}

// shareValue is the value of a shareFlag; name is the flag's, for errors.
type shareValue struct {
	p    *float64
	name string
}

func (v shareValue) String() string { return strconv.FormatFloat(*v.p, 'g', -1, 64) }

func (v shareValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f > 0 && f <= 1) {
		return usagef("invalid %s %q: must be a number above 0 and at most 1, such as 0.2", v.name, s)
	}
	*v.p = f
	return nil
}

func (shareValue) Type() string { return "float" }

// intervalFlag defines a flag holding a duration that is not negative. A negative
// one is refused as it is typed, naming the flag.
func intervalFlag(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(intervalValue{p, "--" + name}, name, usage)
}

// intervalValue is the value of an intervalFlag; name is the flag's, for errors.
type intervalValue struct {
	p    *time.Duration
	name string
}

func (v intervalValue) String() string { return v.p.String() }

func (v intervalValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return usagef("invalid %s %q: must be a duration such as 30s or 5m", v.name, s)
	case d < 0:
		return usagef("invalid %s %q: must not be negative", v.name, s)
	}
	*v.p = d
	return nil
}

func (intervalValue) Type() string { return "duration" }

// flagError makes an error in the flags a usage error. A value that explains itself
// (an id's usage error) is told as it is, without pflag's "invalid argument ... for
// flag" around it, so that an id reads the same as a flag or as an argument.
func flagError(err error) error {
	var ue usageError
	if errors.As(err, &ue) {
		return ue
	}
	return usageError{err.Error()}
}

// enumsValue is a flag holding values of a vocabulary, repeated or comma-separated,
// as typed; help shows the type given (STATUS, TYPE...), with no default.
type enumsValue struct {
	p   *[]string
	typ string
}

func (v enumsValue) String() string { return strings.Join(*v.p, ",") }

func (v enumsValue) Set(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		*v.p = append(*v.p, strings.TrimSpace(part))
	}
	return nil
}

func (v enumsValue) Type() string { return v.typ }

// stringValue is a string flag whose help shows typ instead of "string".
type stringValue struct {
	p   *string
	typ string
}

func (v stringValue) String() string     { return *v.p }
func (v stringValue) Set(s string) error { *v.p = s; return nil }
func (v stringValue) Type() string       { return v.typ }

// listValue is a repeatable flag keeping each value whole; help shows typ.
type listValue struct {
	p   *[]string
	typ string
}

func (v listValue) String() string     { return strings.Join(*v.p, " ") }
func (v listValue) Set(s string) error { *v.p = append(*v.p, s); return nil }
func (v listValue) Type() string       { return v.typ }

// joinValues lists an enum's known values, for help text and errors.
func joinValues[T ~string](values []T) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}

// checkEnums checks the values typed for flag against the known ones (case does not
// matter), naming the flag and the value as typed: unknown, or given twice.
func checkEnums[T ~string](flag string, typed []string, known []T) error {
	seen := map[string]string{}
	for _, s := range typed {
		norm := strings.ToUpper(s)
		if !slices.Contains(known, T(norm)) {
			return usagef("invalid %s: %q is not one of %s", flag, s, joinValues(known))
		}
		if first, ok := seen[norm]; ok {
			if first == s {
				return usagef("invalid %s: %s given twice", flag, s)
			}
			return usagef("invalid %s: %s given twice (as %s and %s)", flag, norm, first, s)
		}
		seen[norm] = s
	}
	return nil
}

// checkIDs says which id was given twice to flag.
func checkIDs(flag string, typed []string, ids []int64) error {
	seen := map[int64]bool{}
	for i, id := range ids {
		if seen[id] {
			return usagef("invalid %s: %s given twice", flag, typed[i])
		}
		seen[id] = true
	}
	return nil
}

// completeList completes a comma-separated list of values: the values not given yet,
// after what is typed before the last comma.
func completeList[T ~string](values func() []T) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		done, last := "", toComplete
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			done, last = toComplete[:i+1], toComplete[i+1:]
		}
		given := map[string]bool{}
		for s := range strings.SplitSeq(strings.ToUpper(done), ",") {
			given[s] = true
		}
		var out []string
		for _, v := range values() {
			if !given[string(v)] && strings.HasPrefix(string(v), strings.ToUpper(last)) {
				out = append(out, done+string(v))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// The shared flags' help, before helpSources notes where each value comes from.
const (
	usageBusiness  = "business (cabinet) id [$YM_BUSINESS_ID, profile]"
	usageBaseURL   = "API base URL [$YM_BASE_URL, profile]"
	usageTokenFile = "read the API-Key token from this file (mode 0600) [profile]; $YM_API_KEY comes before a profile's file"
	usageRedis     = "share the Market's limits with other processes through this Redis (redis://host:port/db) [$YM_REDIS_URL, profile]"
)

// sessionFlags defines on root the flags every command that talks to the Market
// shares (--business, --token-file, --redis...), and reads them into the options it
// returns before any command runs: a flag beats the environment, which beats the
// profile (config.go). Errors in any flag are usage errors; the help of sessionless
// commands leaves the shared flags out.
func sessionFlags(root *cobra.Command, e *env) *options {
	o := &options{}
	pf := root.PersistentFlags()
	var business, tokenFile, baseURL, redisURL string
	pf.Var(stringValue{&business, "ID"}, "business", usageBusiness)
	pf.Var(stringValue{&tokenFile, "FILE"}, "token-file", usageTokenFile)
	pf.Var(stringValue{&baseURL, "URL"}, "base-url", usageBaseURL+" (default "+chatclient.DefaultBaseURL+")")
	pf.Var(stringValue{&o.profileFlag, "NAME"}, "profile", "use this profile of the config file (ymchat profiles lists them) [$YM_PROFILE]")
	pf.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up on the whole command after this long (0: never)")
	pf.DurationVar(&o.maxWait, "max-wait", chatclient.DefaultMaxWait, "longest wait for a spent quota to reset before giving up")
	pf.BoolVarP(&o.verbose, "verbose", "v", false, "log every request attempt to stderr")
	pf.Var(stringValue{&redisURL, "URL"}, "redis", usageRedis)
	pf.BoolVar(&o.fake, "fake", false, "run against the built-in fake Market (no account needed; business 100 by default)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if sessionlessCommand(cmd) || cmd.Annotations[lenientKey] != "" {
			return nil
		}
		s, err := o.resolve(cmd, e)
		if err != nil {
			return err
		}
		o.profile = s.profile
		return o.apply(s)
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError(err) })
	hideSessionFlags(root, o, e)
	return o
}

// lenientKey is the annotation of a command that resolves the shared settings
// itself, when it needs them, and goes on when they do not resolve.
const lenientKey = "ymchat:lenient"

// sessionlessKey is the annotation of a command that needs no session.
const sessionlessKey = "ymchat:sessionless"

// sessionless marks cmd as one the shared flags do nothing for (it needs no account
// and no Market): its help, and its subcommands', leaves them out.
func sessionless(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[sessionlessKey] = "true"
	return cmd
}

// sessionlessCommand says whether c (or a command above it) is sessionless.
func sessionlessCommand(c *cobra.Command) bool {
	for p := c; p != nil; p = p.Parent() {
		if p.Annotations[sessionlessKey] != "" {
			return true
		}
	}
	return false
}

// hideSessionFlags makes the help of sessionless commands (and their subcommands)
// leave out the root's persistent flags; the others' help says where each shared
// value comes from now.
func hideSessionFlags(root *cobra.Command, o *options, e *env) {
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if sessionlessCommand(c) {
			root.PersistentFlags().VisitAll(func(f *pflag.Flag) { f.Hidden = true })
			defer root.PersistentFlags().VisitAll(func(f *pflag.Flag) { f.Hidden = false })
		} else {
			o.helpSources(c, e)
		}
		// Render, then wrap to the terminal: cobra's templates do not wrap.
		var buf bytes.Buffer
		root.SetOut(&buf)
		help(c, args)
		root.SetOut(e.stdout)
		_, _ = io.WriteString(e.stdout, wrapHelp(buf.String(), helpWidth(e)))
	})
}
