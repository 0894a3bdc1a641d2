package inbox_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ymchat/ymchat/chatclient/inbox"
)

func TestKindNames(t *testing.T) {
	assert.Equal(t, "ChatCreated", inbox.ChatCreated.String())
	assert.Equal(t, "NewMessage", inbox.NewMessage.String())
	assert.Equal(t, "StatusChanged", inbox.StatusChanged.String())
	assert.Equal(t, "ArbitrationStarted", inbox.ArbitrationStarted.String())
	assert.Equal(t, "ArbitrationFinished", inbox.ArbitrationFinished.String())
	assert.Equal(t, "Kind(0)", inbox.Kind(0).String())
}
