package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChatGetOutputMatchesGoldenFiles(t *testing.T) {
	srv, vars := fake(t)
	cases := []struct {
		file string
		args []string
	}{
		{"chat-get.golden", []string{"chat", "get", "5000003"}},
		{"chat-get.json.golden", []string{"chat", "get", "5000009", "--json"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res := runCLI(t, vars, false, append(tc.args, "--base-url", srv.URL)...)
			require.Equal(t, 0, res.code, res.stderr)
			golden(t, tc.file, res.stdout)
		})
	}
}
