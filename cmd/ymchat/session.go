package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

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
	// configDir and cacheDir are os.UserConfigDir and os.UserCacheDir; tests give
	// their own, or nil for none.
	configDir, cacheDir func() (string, error)
}

// usageError is a mistake in the command line; it exits 2.
type usageError struct{ msg string }

// Error implements error.
func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// options are the flags every command that talks to the Market shares.
type options struct {
	business      int64
	tokenFile     string
	tokenFileFrom string // "--token-file" or `profile "NAME"`
	baseURL       string
	timeout       time.Duration
	maxWait       time.Duration
	verbose       bool
	fake          bool
	profileFlag   string // as typed after --profile
	profile       string // the profile in use, if any

	redisURL  string
	redisFrom string // "--redis", "YM_REDIS_URL" or `profile "NAME"`
	redisOpts *redis.Options
}

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
		return nil, usagef("no business: set --business or YM_BUSINESS_ID (or a profile's business; or try --fake)")
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

// token reads the token from --token-file, YM_API_KEY or the profile's token file, in
// that order. There is deliberately no --token flag: a token on the command line
// lands in shell history.
func (o *options) token(e *env) (string, error) {
	if o.tokenFile != "" && o.tokenFileFrom == "--token-file" {
		return readToken(o.tokenFile, o.tokenFileFrom)
	}
	if t := strings.TrimSpace(e.getenv("YM_API_KEY")); t != "" {
		return t, nil
	}
	if o.tokenFile != "" {
		return readToken(o.tokenFile, "the token file of "+o.tokenFileFrom)
	}
	return "", usagef("no token: set YM_API_KEY or use --token-file (or a profile's tokenFile: see ymchat profiles; or try --fake)")
}

// readToken reads the first line of a token file that only its owner can read.
func readToken(path, from string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", usagef("%s: %v", from, errors.Unwrap(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", usagef("%s: %v", from, err)
	}
	if err := checkTokenFile(path, from, info); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", usagef("%s: %v", from, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if t := strings.TrimSpace(line); t != "" {
		return t, nil
	}
	return "", usagef("%s %s is empty", from, path)
}

// context applies --timeout.
func (o *options) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.timeout > 0 {
		return context.WithTimeout(ctx, o.timeout)
	}
	return context.WithCancel(ctx)
}

// redisSource names where the Redis URL came from, for error messages.
func (o *options) redisSource() string {
	if o.redisFrom == "" {
		return "--redis"
	}
	return o.redisFrom
}

// parseRedis checks --redis (or YM_REDIS_URL) before anything runs.
func (o *options) parseRedis() error {
	if o.redisURL == "" {
		return nil
	}
	opts, err := redis.ParseURL(o.redisURL)
	if err != nil {
		return usagef("invalid %s: %v (want redis://[user:password@]host:port[/db] or rediss://...)", o.redisSource(), err)
	}
	// redislimit bounds every Redis call with a deadline: go-redis honours it only so.
	opts.ContextTimeoutEnabled = true
	o.redisOpts = opts
	return nil
}

// sharedLimits returns the client options that share the Market's limits through
// Redis, and what to close after; none without --redis.
func (o *options) sharedLimits(e *env) ([]chatclient.Option, func(), error) {
	if o.redisOpts == nil {
		return nil, func() {}, nil
	}
	rdb := redis.NewClient(o.redisOpts)
	lim, err := redislimit.New(rdb, redislimit.WithLogger(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		_ = rdb.Close()
		return nil, nil, usagef("%s: %v", o.redisSource(), err)
	}
	return []chatclient.Option{chatclient.WithLimits(lim)},
		func() { _ = lim.Close(); _ = rdb.Close() }, nil
}
