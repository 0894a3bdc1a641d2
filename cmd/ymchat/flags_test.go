package main

import (
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseIDTakesWholeNumbersOfAtLeastOne(t *testing.T) {
	for _, s := range []string{"1", "5000003", " 7 ", "+12", strconv.FormatInt(math.MaxInt64, 10)} {
		id, err := parseID("CHAT_ID", s)
		require.NoError(t, err, s)
		assert.Positive(t, id, s)
	}
	for _, s := range []string{"0", "-1", "-5000003", "", " ", "x", "1.5", "1e3", "0x10", "5000003,", "9223372036854775808"} {
		_, err := parseID("CHAT_ID", s)
		require.Error(t, err, s)
		assert.Equal(t, "invalid CHAT_ID "+strconv.Quote(s)+": must be a whole number of at least 1", err.Error())
		msg, failed := explain(err)
		assert.Equal(t, failedUsage, failed, s)
		assert.Equal(t, err.Error(), msg)
	}
}

// TestEveryIDIsCheckedAlike covers every place an id is typed: the same words
// (naming the argument, flag or variable and the value typed), exit 2, and no
// request, whatever else the command line holds.
func TestEveryIDIsCheckedAlike(t *testing.T) {
	srv, vars := fake(t)
	url := []string{"--base-url", srv.URL}
	cases := []struct {
		vars        map[string]string
		args        []string
		name, typed string
	}{
		{vars, []string{"chat", "get", "0"}, "CHAT_ID", "0"},
		{vars, []string{"chat", "get", "--", "-5"}, "CHAT_ID", "-5"},
		{vars, []string{"chat", "get", "x5000003"}, "CHAT_ID", "x5000003"},
		{vars, []string{"chat", "get", "99999999999999999999"}, "CHAT_ID", "99999999999999999999"},
		{vars, []string{"chat", "history", "0"}, "CHAT_ID", "0"},
		{vars, []string{"chat", "history", "5000003", "--from", "-1"}, "--from", "-1"},
		{vars, []string{"chat", "message", "0", "1000002"}, "CHAT_ID", "0"},
		{vars, []string{"chat", "message", "5000003", "0"}, "MESSAGE_ID", "0"},
		{vars, []string{"chat", "send", "0", "-m", "hi"}, "CHAT_ID", "0"},
		{vars, []string{"chat", "send-file", "--", "-3", "main.go"}, "CHAT_ID", "-3"},
		{vars, []string{"chat", "new", "--order", "0"}, "--order", "0"},
		{vars, []string{"chat", "new", "--return=-7"}, "--return", "-7"},
		{vars, []string{"chats", "--order", "10043001,0"}, "--order", "0"},
		{vars, []string{"chats", "--return", "x"}, "--return", "x"},
		{vars, []string{"chats", "--business", "0"}, "--business", "0"},
		{map[string]string{"YM_API_KEY": token, "YM_BUSINESS_ID": "-100"}, []string{"chats"}, "YM_BUSINESS_ID", "-100"},
		// The id is read before the token: its error comes first.
		{map[string]string{"YM_BUSINESS_ID": "100"}, []string{"chat", "get", "0"}, "CHAT_ID", "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name+" "+tc.typed, func(t *testing.T) {
			res := runCLI(t, tc.vars, false, append(url, tc.args...)...)
			assert.Equal(t, 2, res.code, res.stderr)
			assert.Equal(t, "ymchat: invalid "+tc.name+" "+strconv.Quote(tc.typed)+": must be a whole number of at least 1\n", res.stderr)
			assert.Empty(t, res.stdout)
		})
	}
	t.Run("a negative id without --", func(t *testing.T) {
		res := runCLI(t, vars, false, append(url, "chat", "get", "-5")...)
		assert.Equal(t, 2, res.code, res.stderr)
		assert.Empty(t, res.stdout)
	})
	assert.Empty(t, srv.Requests(), "a bad id sends nothing")
}

func TestHelpNamesRealValues(t *testing.T) {
	for _, args := range [][]string{{"chats", "--help"}, {"chat", "new", "--help"}, {"chat", "history", "--help"}} {
		res := runCLI(t, nil, false, args...)
		require.Equal(t, 0, res.code)
		assert.NotContains(t, res.stdout, "int64", args)
		assert.NotContains(t, res.stdout, "default []", args)
		assert.NotContains(t, res.stdout, "strings", args)
		assert.Contains(t, res.stdout, "--business ID", args)
	}
	res := runCLI(t, nil, false, "chats", "--help")
	assert.Contains(t, res.stdout, "--order IDs ")
	assert.Contains(t, res.stdout, "--status STATUS ")
	res = runCLI(t, nil, false, "chat", "new", "--help")
	assert.Contains(t, res.stdout, "--order ID ")

	for _, args := range [][]string{{"demo", "--help"}, {"version", "--help"}, {"completion", "--help"}, {"completion", "bash", "--help"}, {"listen", "--help"}, {"fake", "--help"}} {
		res := runCLI(t, nil, false, args...)
		require.Equal(t, 0, res.code, args)
		assert.NotContains(t, res.stdout, "--business ID", args)
		assert.NotContains(t, res.stdout, "Global Flags", args)
	}
	// ...and only there.
	res = runCLI(t, nil, false, "chat", "get", "--help")
	assert.Contains(t, res.stdout, "--business ID")
}

func TestCompletionNamesRealValues(t *testing.T) {
	complete := func(args ...string) []string {
		res := runCLI(t, nil, false, append([]string{"__complete"}, args...)...)
		require.Equal(t, 0, res.code, res.stderr)
		var out []string
		for line := range strings.Lines(res.stdout) {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, ":") {
				out = append(out, strings.SplitN(line, "\t", 2)[0])
			}
		}
		return out
	}
	assert.Contains(t, complete("chats", "--status", ""), "WAITING_FOR_PARTNER")
	assert.ElementsMatch(t, []string{"WAITING_FOR_ARBITER", "WAITING_FOR_CUSTOMER", "WAITING_FOR_MARKET", "WAITING_FOR_PARTNER"},
		complete("chats", "--status", "waiting_for_"))
	got := complete("chats", "--status", "NEW,")
	assert.Contains(t, got, "NEW,FINISHED")
	assert.NotContains(t, got, "NEW,NEW", "a value given already is not offered again")
	assert.ElementsMatch(t, []string{"CHAT", "ARBITRAGE"}, complete("chats", "--type", ""))
	assert.Contains(t, complete("chats", "--context-type", ""), "RETURN")
	assert.Equal(t, []string{"updated", "-updated"}, complete("chats", "--sort", ""))
}

func TestShareAndIntervalFlagsRefuseBadValuesNamingTheFlag(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var share float64
	var every time.Duration
	shareFlag(fs, &share, "share", 0.2, "")
	intervalFlag(fs, &every, "min-interval", time.Minute, "")
	assert.Equal(t, 0.2, share, "the default")
	assert.Equal(t, time.Minute, every, "the default")
	assert.Equal(t, "0.2", fs.Lookup("share").DefValue)
	assert.Equal(t, "1m0s", fs.Lookup("min-interval").DefValue)

	for s, want := range map[string]float64{"1": 1, "0.05": 0.05, " 0.5 ": 0.5} {
		require.NoError(t, fs.Set("share", s), s)
		assert.Equal(t, want, share, s)
	}
	for _, s := range []string{"0", "-0.1", "1.01", "x", "", "NaN", "Inf"} {
		err := flagError(fs.Parse([]string{"--share", s}))
		require.Error(t, err, s)
		assert.Equal(t, "invalid --share "+strconv.Quote(s)+": must be a number above 0 and at most 1, such as 0.2", err.Error())
	}
	for s, want := range map[string]time.Duration{"0": 0, "30s": 30 * time.Second, "2h": 2 * time.Hour} {
		require.NoError(t, fs.Set("min-interval", s), s)
		assert.Equal(t, want, every, s)
	}
	err := flagError(fs.Parse([]string{"--min-interval", "-1s"}))
	assert.EqualError(t, err, `invalid --min-interval "-1s": must not be negative`)
	err = flagError(fs.Parse([]string{"--min-interval=5"}))
	assert.EqualError(t, err, `invalid --min-interval "5": must be a duration such as 30s or 5m`)
}
