package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		res := runCLI(t, nil, false, args...)
		require.Equal(t, 0, res.code, res.stderr)
		assert.True(t, strings.HasPrefix(res.stdout, "ymchat "), res.stdout)
		assert.Equal(t, "ymchat "+version()+"\n", res.stdout)
	}
	assert.NotEmpty(t, version())
}
