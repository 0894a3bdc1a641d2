package inbox_test

import (
	"testing"

	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/inbox/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) inbox.Store { return inbox.NewMemoryStore() })
	storetest.Run(t, func(*testing.T) inbox.Store { return &inbox.MemoryStore{} }) // the zero value
}
