package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

type fakeFlags struct {
	addr, fixture, token string
	state                string
	parallel             int
	quotas, notify       []string
	verbose              bool
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

It keeps its state (chats, messages, files) for as long as it runs; with
--state FILE it starts from FILE when there is one (else from the fixture) and
writes its state back to FILE when it stops (SIGINT or SIGTERM; not on a kill
-9), so that a restart goes on where it was. It prints
the lines that point a shell at it (export YM_BASE_URL=... and the rest): paste
them, and every command talks to the fake.

Drive it with "ymchat trigger" from another shell: a customer writes, a chat is
created, a dispute starts or ends. --notify URL registers a receiver (such as
"ymchat listen") that gets each notification as the Market would send it. The
controls live under /_fake/ on the same address and take the same token.

The fake also runs on a loopback port of its own: attachment URLs in messages
and notification deliveries use that address, not --addr. They work from this
machine only.`,
		Example: `  ymchat fake --addr 127.0.0.1:8765 --notify http://127.0.0.1:8080/ -v
  ymchat trigger customer-writes 5000003 -m "Where is my order?"`,
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
	fl.Var(stringValue{&f.state, "FILE"}, "state", "start from this file when it exists, and save the state to it on exit")
	fl.Var(listValue{&f.notify, "URL"}, "notify", "send notifications to this receiver, e.g. ymchat listen's URL (repeatable)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log each request served to stderr")
	return cmd
}

// parseQuota reads OP=LIMIT/WINDOW (or OP=0).
func parseQuota(s string) (string, chattest.Quota, error) {
	op, spec, ok := strings.Cut(s, "=")
	if _, known := chattest.DocumentedQuotas()[op]; !ok || !known {
		ops := slices.Sorted(maps.Keys(chattest.DocumentedQuotas()))
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
	restored := false
	if f.state != "" {
		data, err := os.ReadFile(f.state)
		switch {
		case err == nil:
			opts, restored = []chattest.Option{chattest.WithState(data)}, true
		case !errors.Is(err, fs.ErrNotExist):
			return usagef("--state: %v", err)
		}
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

	for _, u := range f.notify {
		if err := srv.RegisterReceiver(u); err != nil {
			return fmt.Errorf("--notify: %w (start the receiver first)", err)
		}
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return usagef("--addr: %v", err)
	}
	var h http.Handler = srv.WithControl()
	if f.verbose {
		h = logRequests(e.stderr, h)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	w := e.stderr
	fmt.Fprintf(w, "ymchat fake: the fake Market serves %s\n", url)
	if restored {
		fmt.Fprintf(w, "(its state restored from %s)\n", f.state)
	}
	fmt.Fprintln(w, "Point a shell at it (paste these lines):")
	fmt.Fprintf(w, "  export YM_BASE_URL=%s\n", url)
	fmt.Fprintf(w, "  export YM_API_KEY=%s\n", srv.Token)
	fmt.Fprintln(w, "  export YM_BUSINESS_ID=100")
	fmt.Fprintln(w, "then: ymchat chats --status WAITING_FOR_PARTNER")
	fmt.Fprintln(w, "      ymchat trigger customer-writes 5000003 -m 'Where is my order?'")
	fmt.Fprintf(w, "or:   curl -H 'Api-Key: %s' '%s/v2/businesses/100/chat?chatId=5000003'\n", srv.Token, url)
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
	if f.state != "" {
		if err := saveState(srv, f.state); err != nil {
			return fmt.Errorf("--state: %w", err)
		}
		fmt.Fprintf(w, "ymchat fake: state saved to %s\n", f.state)
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

// logRequests logs each request served, one line on w when its answer is written:
// method, path, status and how long it took.
func logRequests(w io.Writer, h http.Handler) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusRecorder{ResponseWriter: rw}
		defer func() { // also when a fault drops the connection (a panic net/http expects)
			status := "dropped"
			if sw.status != 0 {
				status = strconv.Itoa(sw.status)
			}
			mu.Lock()
			fmt.Fprintf(w, "%s %s %s %s %s\n", start.UTC().Format(time.TimeOnly), r.Method, r.URL.RequestURI(), status,
				time.Since(start).Round(time.Millisecond))
			mu.Unlock()
		}()
		h.ServeHTTP(sw, r)
	})
}

// statusRecorder remembers the status written (0 until one is).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush passes through: the fake's truncated answers flush before dropping.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// saveState writes the fake's state to path, whole or not at all (a temporary file
// renamed over it), readable by its owner only: it may hold what customers sent.
func saveState(srv *chattest.Server, path string) error {
	data, err := srv.State()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
