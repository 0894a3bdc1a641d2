package chatclient

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVersionIsDevelInATestBuild(t *testing.T) {
	assert.Equal(t, "devel", Version(), "a test binary is built from the work tree")
	assert.Contains(t, userAgent, "ymchat/devel ")
}
