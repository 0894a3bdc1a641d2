package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

type fakeFlags struct {
	addr, fixture, token string
	parallel             int
	quotas               []string
}

func newFakeCommand(e *env) *cobra.Command {
	f := &fakeFlags{}
	cmd := sessionless(&cobra.Command{
		Use:   "fake",
		Short: "Serve the fake Market (package chattest) on an address, for other programs to test against",
		Long: `Serve the fake Yandex Market (package chattest, the one behind --fake and demo)
on an address until SIGINT or SIGTERM, then exit 0. Its URL, token and example
commands go to stderr.

It keeps the Market's limits (4 requests of a business in flight, the documented
hourly quotas) unless told otherwise: --parallel-limit 0 turns the first off,
--quota OP=LIMIT/WINDOW sets one operation's quota (repeatable; OP=0 turns it
off), e.g. --quota getChats=100/1s.

The fake also runs on a loopback port of its own: attachment URLs in messages
and notification deliveries use that address, not --addr. They work from this
machine only.`,
		Example: `  ymchat fake --addr 127.0.0.1:8765 --quota getChats=100/1s
  YM_API_KEY=chattest-token ymchat --base-url http://127.0.0.1:8765 --business 100 chats`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serveFake(cmd.Context(), e, f) },
	})
	fl := cmd.Flags()
	fl.Var(stringValue{&f.addr, "HOST:PORT"}, "addr", "address to serve on (port 0 picks a free one)")
	f.addr = "127.0.0.1:8765"
	fl.Var(stringValue{&f.fixture, "FILE"}, "fixture", "load the chats from this JSON fixture (default: the shipped one)")
	fl.Var(stringValue{&f.token, "TOKEN"}, "token", "the token the fake accepts (default: chattest's)")
	fl.IntVar(&f.parallel, "parallel-limit", chattest.DefaultParallelLimit, "requests of a business in flight before a 420 (0: no limit)")
	fl.Var(listValue{&f.quotas, "OP=LIMIT/WINDOW"}, "quota", "an operation's quota, e.g. getChats=100/1s (repeatable)")
	return cmd
}

// parseQuota reads OP=LIMIT/WINDOW (or OP=0).
func parseQuota(s string) (string, chattest.Quota, error) {
	op, spec, ok := strings.Cut(s, "=")
	if _, known := chattest.DocumentedQuotas[op]; !ok || !known {
		ops := slices.Sorted(maps.Keys(chattest.DocumentedQuotas))
		return "", chattest.Quota{}, usagef("invalid --quota %q: want OP=LIMIT/WINDOW with OP one of %s", s, strings.Join(ops, ", "))
	}
	if spec == "0" {
		return op, chattest.Quota{}, nil
	}
	limit, window, _ := strings.Cut(spec, "/")
	n, err1 := strconv.ParseInt(limit, 10, 64)
	d, err2 := time.ParseDuration(window)
	if err1 != nil || err2 != nil || n < 1 || d <= 0 {
		return "", chattest.Quota{}, usagef("invalid --quota %q: want OP=LIMIT/WINDOW, e.g. %s=100/1s", s, op)
	}
	return op, chattest.Quota{Limit: n, Window: d}, nil
}

func serveFake(ctx context.Context, e *env, f *fakeFlags) (err error) {
	opts := []chattest.Option{chattest.WithDefaultFixture()}
	if f.fixture != "" {
		data, err := os.ReadFile(f.fixture)
		if err != nil {
			return usagef("--fixture: %v", err)
		}
		opts = []chattest.Option{chattest.WithFixture(data)}
	}
	if f.token != "" {
		opts = append(opts, chattest.WithToken(f.token))
	}
	if f.parallel < 0 {
		return usagef("invalid --parallel-limit %d: must not be negative", f.parallel)
	}
	opts = append(opts, chattest.WithParallelLimit(f.parallel))
	for _, q := range f.quotas {
		op, quota, err := parseQuota(q)
		if err != nil {
			return err
		}
		opts = append(opts, chattest.WithQuota(op, quota))
	}
	srv, err := newFakeServer(opts)
	if err != nil {
		return usagef("%v", err)
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return usagef("--addr: %v", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	w := e.stderr
	fmt.Fprintf(w, "ymchat fake: the fake Market serves %s\n", url)
	fmt.Fprintf(w, "token: %s\n", srv.Token)
	fmt.Fprintf(w, "try:   curl -H 'Api-Key: %s' '%s/v2/businesses/100/chat?chatId=5000003'\n", srv.Token, url)
	fmt.Fprintf(w, "       YM_API_KEY=%s ymchat --base-url %s --business 100 chats\n", srv.Token, url)
	fmt.Fprintln(w, "Ctrl-C stops it.")

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	fmt.Fprintln(w, "ymchat fake: stopped")
	return nil
}

// newFakeServer starts the fake, turning its panic on a bad option (a fixture that
// does not load) into an error.
func newFakeServer(opts []chattest.Option) (srv *chattest.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return chattest.NewServer(opts...), nil
}
