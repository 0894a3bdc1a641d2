package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/chattest"
)

func TestChatsOutputMatchesGoldenFiles(t *testing.T) {
	srv, vars := fake(t)
	cases := []struct {
		file string
		args []string
	}{
		{"chats.table.golden", []string{"chats", "--status", "WAITING_FOR_PARTNER"}},
		{"chats.json.golden", []string{"chats", "--context-type", "return", "--json"}},
		{"chats.jsonl.golden", []string{"chats", "--type", "ARBITRAGE", "--jsonl"}},
		{"chats.limit.golden", []string{"chats", "--limit", "3", "--json"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res := runCLI(t, vars, false, append(tc.args, "--base-url", srv.URL)...)
			require.Equal(t, 0, res.code, res.stderr)
			golden(t, tc.file, res.stdout)
		})
	}
}

// firstWrite records how many requests the fake had seen when stdout was first written.
type firstWrite struct {
	syncBuf
	srv  *chattest.Server
	once sync.Once
	seen int
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(func() { f.seen = len(f.srv.Requests()) })
	return f.syncBuf.Write(p)
}

func TestTableStreamsUnlessSorted(t *testing.T) {
	srv, vars := fake(t)
	for _, tc := range []struct {
		sort      string
		streaming bool
	}{{"", true}, {"updated", false}} {
		srv.ResetRequests()
		out := &firstWrite{srv: srv}
		args := []string{"chats", "--base-url", srv.URL}
		if tc.sort != "" {
			args = append(args, "--sort", tc.sort)
		}
		code := run(t.Context(), args, &env{stdin: strings.NewReader(""), stdout: out, stderr: io.Discard,
			getenv: func(k string) string { return vars[k] }, now: func() time.Time { return fixedNow },
			isTerminal: func(any) bool { return false }})
		require.Equal(t, 0, code)
		if tc.streaming {
			assert.Equal(t, 1, out.seen, "the first rows are out after the first page")
		} else {
			assert.Equal(t, 7, out.seen, "sorting waits for every page")
		}
	}
}

func TestSortByUpdate(t *testing.T) {
	srv, vars := fake(t)
	times := func(args ...string) []time.Time {
		res := runCLI(t, vars, false, append([]string{"chats", "--base-url", srv.URL, "--jsonl"}, args...)...)
		require.Equal(t, 0, res.code, res.stderr)
		var ts []time.Time
		for line := range strings.Lines(res.stdout) {
			var c chatJSON
			require.NoError(t, json.Unmarshal([]byte(line), &c))
			ts = append(ts, time.Time(c.UpdatedAt))
		}
		require.Len(t, ts, 130)
		return ts
	}
	asc, desc := times("--sort", "updated"), times("--sort", "-updated")
	for i := 1; i < len(asc); i++ {
		assert.False(t, asc[i].Before(asc[i-1]), "oldest update first")
		assert.False(t, desc[i].After(desc[i-1]), "newest first")
	}
	res := runCLI(t, vars, false, "chats", "--base-url", srv.URL, "--sort", "updated", "--status", "WAITING_FOR_PARTNER")
	require.Equal(t, 0, res.code)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	assert.True(t, strings.HasPrefix(lines[1], "5000078 "), "the longest waiting first: %s", lines[1])
	assert.Equal(t, "40 chats", lines[len(lines)-1])
	for _, args := range [][]string{{"--sort", "age"}, {"--sort", "updated", "--page-token", "x"}} {
		res := runCLI(t, vars, false, append([]string{"chats", "--base-url", srv.URL}, args...)...)
		assert.Equal(t, 2, res.code, args)
	}

	// --sort with --limit: the top N of every chat, and nothing to resume.
	top := runCLI(t, vars, true, "chats", "--base-url", srv.URL, "--sort", "updated", "--status", "WAITING_FOR_PARTNER", "--limit", "5")
	require.Equal(t, 0, top.code, top.stderr)
	topLines := strings.Split(strings.TrimSpace(top.stdout), "\n")
	assert.Equal(t, lines[:6], topLines[:6], "the same first rows as the whole sorted listing")
	assert.Equal(t, "5 chats", topLines[len(topLines)-1])
	assert.Contains(t, top.stderr, "pages 2, chats 40", "read every chat, with the progress line")
	assert.NotContains(t, top.stderr, "--page-token")
}

func TestOutputFormatsAgree(t *testing.T) {
	srv, vars := fake(t)
	base := []string{"chats", "--base-url", srv.URL, "--status", "NEW,FINISHED", "--context-type", "ORDER"}
	asJSON := runCLI(t, vars, false, append(base, "--json")...)
	asJSONL := runCLI(t, vars, false, append(base, "--jsonl")...)
	table := runCLI(t, vars, false, base...)
	require.Equal(t, 0, asJSON.code)

	var doc struct {
		Chats []chatJSON `json:"chats"`
	}
	require.NoError(t, json.Unmarshal([]byte(asJSON.stdout), &doc))
	lines := strings.Split(strings.TrimSpace(asJSONL.stdout), "\n")
	require.Len(t, lines, len(doc.Chats))
	require.Greater(t, len(doc.Chats), 20, "more than one page")
	tableLines := strings.Split(strings.TrimSpace(table.stdout), "\n")
	require.Len(t, tableLines, len(doc.Chats)+2, "a header, a row per chat and the count")
	assert.Equal(t, fmt.Sprintf("%d chats", len(doc.Chats)), tableLines[len(tableLines)-1])
	for i, line := range lines {
		var c chatJSON
		require.NoError(t, json.Unmarshal([]byte(line), &c))
		assert.Equal(t, doc.Chats[i], c)
		assert.Contains(t, []string{"NEW", "FINISHED"}, c.Status)
		assert.Equal(t, "ORDER", c.Context)
		assert.Equal(t, c.ID, mustAtoi(t, strings.Fields(tableLines[i+1])[0]))
	}
}

func TestLimitAndResume(t *testing.T) {
	srv, vars := fake(t)
	resumeArgs := func(stderr string) []string {
		t.Helper()
		_, cmd, ok := strings.Cut(stderr, "more chats follow: resume with ymchat ")
		require.True(t, ok, stderr)
		return strings.Fields(cmd)
	}
	for _, filters := range [][]string{nil, {"--status", "WAITING_FOR_PARTNER,new", "--context-type", "ORDER"}, {"--type", "CHAT", "--business=100"}} {
		t.Run(strings.Join(filters, " "), func(t *testing.T) {
			base := append([]string{"chats", "--base-url", srv.URL, "--jsonl"}, filters...)
			all := runCLI(t, vars, false, base...)
			require.Equal(t, 0, all.code, all.stderr)
			lines := strings.Split(strings.TrimSpace(all.stdout), "\n")
			require.Greater(t, len(lines), 25)

			// 10 at a time, each run being exactly the command the last one printed.
			args, got := append(base, "--limit", "10"), ""
			for range 20 {
				res := runCLI(t, vars, false, args...)
				require.Equal(t, 0, res.code, res.stderr)
				got += res.stdout
				if res.stderr == "" {
					break
				}
				args = resumeArgs(res.stderr)
				assert.Equal(t, 1, strings.Count(strings.Join(args, " "), "--page-token"), args)
			}
			assert.Equal(t, all.stdout, got, "resuming continues exactly where --limit stopped")
		})
	}
	res := runCLI(t, vars, false, "chats", "--base-url", srv.URL, "--status", "NEW", "--limit", "2")
	require.Equal(t, 0, res.code)
	assert.Regexp(t, `^more chats follow: resume with ymchat chats --base-url http://\S+ --status NEW --limit 2 --page-token \S+\n$`, res.stderr)
	assert.Equal(t, "ymchat chats --status 'A B' --page-token 'x'\\''y'", resumeCommand([]string{"chats", "--status", "A B", "--page-token=old"}, "x'y"))
}
