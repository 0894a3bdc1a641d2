package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedNow is the time the golden files were made at.
var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, msk)

const token = "cli-SECRET-token-42"

type result struct {
	code           int
	stdout, stderr string
}

// syncBuf is a buffer safe for the concurrent writes of the demo's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func runCLI(t *testing.T, vars map[string]string, terminal bool, args ...string) result {
	t.Helper()
	return runIn(t, context.Background(), "", vars, terminal, args...)
}

// runIn runs the command with ctx and stdin.
func runIn(t *testing.T, ctx context.Context, stdin string, vars map[string]string, terminal bool, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuf
	code := run(ctx, args, &env{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout, stderr: &stderr,
		getenv:     func(k string) string { return vars[k] },
		now:        func() time.Time { return fixedNow },
		isTerminal: func(w any) bool { return terminal && w == any(&stderr) },
		width:      func() int { n, _ := strconv.Atoi(vars["COLUMNS"]); return n },
		configDir:  dirFrom(vars, "XDG_CONFIG_HOME"),
		cacheDir:   dirFrom(vars, "XDG_CACHE_HOME"),
	})
	res := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	assert.NotContains(t, res.stdout, token, "the token never appears in output")
	assert.NotContains(t, res.stderr, token, "the token never appears in output")
	return res
}

// runWriting runs the CLI on the real clock with no terminal, writing to stdout and
// stderr as they are: for commands that run until stopped, and writers that fail.
func runWriting(ctx context.Context, stdout, stderr io.Writer, vars map[string]string, args ...string) int {
	return run(ctx, args, &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr,
		getenv: func(k string) string { return vars[k] }, now: time.Now, isTerminal: func(any) bool { return false }})
}

func fake(t *testing.T, opts ...chattest.Option) (*chattest.Server, map[string]string) {
	t.Helper()
	srv := chattest.NewServer(append([]chattest.Option{chattest.WithDefaultFixture(), chattest.WithToken(token),
		chattest.WithClock(func() time.Time { return fixedNow })}, opts...)...)
	t.Cleanup(srv.Close)
	return srv, map[string]string{"YM_API_KEY": token, "YM_BUSINESS_ID": "100"}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./cmd/ymchat -update to create it")
	assert.Equal(t, string(want), got, "output differs from %s (go test ./cmd/ymchat -update rewrites it)", path)
}

func mustAtoi(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}

// dirFrom is a user directory given by a test's variables: none unless set, so that
// no test reads the real user's config or cache.
func dirFrom(vars map[string]string, name string) func() (string, error) {
	return func() (string, error) {
		if d := vars[name]; d != "" {
			return d, nil
		}
		return "", os.ErrNotExist
	}
}
