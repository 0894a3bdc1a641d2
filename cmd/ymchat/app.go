package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

// Exit codes.
const (
	exitOK          = 0
	exitAPI         = 1
	exitUsage       = 2
	exitRateLimited = 3
	exitInterrupted = 130
)

// msk is the Market's time zone (Moscow, UTC+3, no daylight saving).
var msk = time.FixedZone("MSK", 3*60*60)

// env is what the command needs from the process; tests give their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	isTerminal     func(any) bool
	// width is how many columns stdout shows (0: no limit, as in a pipe).
	width func() int
	// args are the command line's arguments, for the resume hint.
	args []string
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// options are the flags every command shares.
type options struct {
	business  int64
	tokenFile string
	baseURL   string
	timeout   time.Duration
	maxWait   time.Duration
	verbose   bool
	fake      bool

	redisURL     string
	redisFromEnv bool
	redisOpts    *redis.Options
}

// usageError is a mistake in the command line; it exits 2.
type usageError struct{ msg string }

// Error implements error.
func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// session is a client ready to use, and what to close after.
type session struct {
	client   *chatclient.Client
	business int64
	close    func()
}

func (o *options) connect(e *env, hook func(chatclient.RetryInfo), extra ...chatclient.Option) (*session, error) {
	opts := []chatclient.Option{chatclient.WithMaxWait(o.maxWait)}
	if hook != nil {
		opts = append(opts, chatclient.WithRetryHook(hook))
	}
	if o.verbose {
		opts = append(opts, chatclient.WithLogger(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	opts = append(opts, extra...)
	shared, closeShared, err := o.sharedLimits(e)
	if err != nil {
		return nil, err
	}
	opts = append(opts, shared...)
	s, err := o.newSession(e, opts)
	if err != nil {
		closeShared()
		return nil, err
	}
	closeSession := s.close
	s.close = func() { closeSession(); closeShared() }
	return s, nil
}

func (o *options) newSession(e *env, opts []chatclient.Option) (*session, error) {
	business := o.business
	if o.fake {
		srv := chattest.NewServer(chattest.WithDefaultFixture(), chattest.WithClock(e.now))
		if business == 0 {
			business = 100
		}
		c, err := chatclient.New(chatclient.APIKey(srv.Token), append(opts, chatclient.WithBaseURL(srv.URL))...)
		if err != nil {
			srv.Close()
			return nil, err
		}
		return &session{client: c, business: business, close: srv.Close}, nil
	}
	if business == 0 {
		return nil, usagef("no business: set --business or YM_BUSINESS_ID (or try --fake)")
	}
	token, err := o.token(e)
	if err != nil {
		return nil, err
	}
	if o.baseURL != "" {
		opts = append(opts, chatclient.WithBaseURL(o.baseURL))
	}
	c, err := chatclient.New(chatclient.APIKey(token), opts...)
	if err != nil {
		return nil, err
	}
	return &session{client: c, business: business, close: func() {}}, nil
}

// withClient runs f with a connected client and the command's context (--timeout),
// and cleans up after.
func (o *options) withClient(cmd *cobra.Command, e *env, hook func(chatclient.RetryInfo), f func(ctx context.Context, s *session) error, extra ...chatclient.Option) error {
	s, err := o.connect(e, hook, extra...)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, cancel := o.context(cmd.Context())
	defer cancel()
	return f(ctx, s)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// token reads the token from --token-file or YM_API_KEY. There is deliberately no
// --token flag: a token on the command line lands in shell history.
func (o *options) token(e *env) (string, error) {
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return "", usagef("--token-file: %v", errors.Unwrap(err))
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if t := strings.TrimSpace(line); t != "" {
			return t, nil
		}
		return "", usagef("--token-file %s is empty", o.tokenFile)
	}
	if t := strings.TrimSpace(e.getenv("YM_API_KEY")); t != "" {
		return t, nil
	}
	return "", usagef("no token: set YM_API_KEY or use --token-file (or try --fake)")
}

// context applies --timeout.
func (o *options) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.timeout > 0 {
		return context.WithTimeout(ctx, o.timeout)
	}
	return context.WithCancel(ctx)
}

func newRoot(ctx context.Context, e *env) *cobra.Command {
	o := &options{}
	root := &cobra.Command{
		Use:   "ymchat",
		Short: "Look at a seller's Yandex Market chats",
		Long: `ymchat lists, reads and starts chats with customers through the Yandex Market
Partner API, within the Market's request limits.

Try it with no account: ymchat demo. Any command runs against the built-in fake
Market with --fake.

The token comes from YM_API_KEY or --token-file; the business from --business or
YM_BUSINESS_ID.

Several processes on the same token share the Market's limits (4 requests in
flight, the hourly quotas) when each is given the same Redis with --redis URL
or YM_REDIS_URL.

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
	pf := root.PersistentFlags()
	business := ""
	if v := e.getenv("YM_BUSINESS_ID"); v != "" {
		business = v
	}
	pf.Var(stringValue{&business, "ID"}, "business", "business (cabinet) id; default $YM_BUSINESS_ID")
	pf.Var(stringValue{&o.tokenFile, "FILE"}, "token-file", "read the API-Key token from this file instead of $YM_API_KEY")
	pf.Var(stringValue{&o.baseURL, "URL"}, "base-url", "API base URL (default "+chatclient.DefaultBaseURL+")")
	pf.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up on the whole command after this long (0: never)")
	pf.DurationVar(&o.maxWait, "max-wait", chatclient.DefaultMaxWait, "longest wait for a spent quota to reset before giving up")
	pf.BoolVarP(&o.verbose, "verbose", "v", false, "log every request attempt to stderr")
	o.redisURL = e.getenv("YM_REDIS_URL")
	pf.Var(stringValue{&o.redisURL, "URL"}, "redis", "share the Market's limits with other processes through this Redis (redis://host:port/db); default $YM_REDIS_URL")
	pf.BoolVar(&o.fake, "fake", false, "run against the built-in fake Market (no account needed; business 100 by default)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		o.redisFromEnv = !cmd.Flags().Changed("redis") && o.redisURL != ""
		if err := o.parseRedis(); err != nil {
			return err
		}
		if business == "" {
			return nil
		}
		// Name where the value came from: the flag or the environment.
		from := "--business"
		if !cmd.Flags().Changed("business") {
			from = "YM_BUSINESS_ID"
		}
		id, err := parseID(from, business)
		if err != nil {
			return err
		}
		o.business = id
		return nil
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError(err) })
	root.AddCommand(newChatsCommand(e, o), newChatCommand(e, o), newDemoCommand(e), newListenCommand(e), newVersionCommand(e), newFakeCommand(e))
	hideGlobalFlagsIn(root)
	return root
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
	msg, code := explain(err)
	fmt.Fprintln(e.stderr, "ymchat: "+msg)
	return code
}
