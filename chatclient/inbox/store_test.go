package inbox_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ymchat/ymchat/chatclient/inbox"
)

func TestAChatIsDirtyWhileAPushCameAfterItsLastRead(t *testing.T) {
	assert.False(t, inbox.ChatState{}.IsDirty())
	assert.True(t, inbox.ChatState{Dirty: 2, Clean: 1}.IsDirty())
	assert.False(t, inbox.ChatState{Dirty: 2, Clean: 2}.IsDirty())
}
