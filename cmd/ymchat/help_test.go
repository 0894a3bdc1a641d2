package main

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commandPaths lists every command's words, the root's first ("" for the root).
func commandPaths() [][]string {
	root := newRoot(context.Background(), &env{getenv: func(string) string { return "" }})
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(root, nil)
	return out
}

// TestHelpGoldens keeps every command's help at 80 columns (the width when it is not
// known) and checks that no line is wider, there and at 60.
func TestHelpGoldens(t *testing.T) {
	for _, path := range commandPaths() {
		name := strings.Join(path, "_")
		if name == "" {
			name = "ymchat"
		}
		t.Run(name, func(t *testing.T) {
			res := runCLI(t, nil, false, append(append([]string{}, path...), "--help")...)
			require.Equal(t, 0, res.code, res.stderr)
			for _, line := range strings.Split(res.stdout, "\n") {
				assert.LessOrEqual(t, utf8.RuneCountInString(line), 80, "%q", line)
			}
			golden(t, "help/"+name+".golden", res.stdout)

			res = runCLI(t, map[string]string{"COLUMNS": "60"}, false, append(append([]string{}, path...), "--help")...)
			for _, line := range strings.Split(res.stdout, "\n") {
				assert.LessOrEqual(t, utf8.RuneCountInString(line), 60, "%q", line)
			}
		})
	}
}

func TestUnknownSubcommandExits2(t *testing.T) {
	res := runCLI(t, nil, false, "chat", "hist", "5000003")
	assert.Equal(t, 2, res.code)
	assert.Empty(t, res.stdout, "no help on stdout: the typo is an error")
	assert.Contains(t, res.stderr, `unknown command "hist" for "ymchat chat"; did you mean history?`)

	res = runCLI(t, nil, false, "chtas")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "did you mean chat or chats?")

	res = runCLI(t, nil, false, "chat")
	assert.Equal(t, 0, res.code, "a group alone shows its help")
	assert.Contains(t, res.stdout, "Available Commands:")
}
