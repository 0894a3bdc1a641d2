package main

import (
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

// redisSource names where the Redis URL came from, for error messages.
func (o *options) redisSource() string {
	if o.redisFromEnv {
		return "YM_REDIS_URL"
	}
	return "--redis"
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
	return []chatclient.Option{chatclient.WithLeases(lim), chatclient.WithQuotas(lim)},
		func() { _ = lim.Close(); _ = rdb.Close() }, nil
}
