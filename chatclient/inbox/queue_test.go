package inbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
)

func TestQueueHandsEachChatToOneWorkerAtATime(t *testing.T) {
	q := newQueue(func(int) time.Duration { return time.Hour })
	ctx := context.Background()
	q.add(1, job{})
	q.add(2, job{})
	id, _, ok := q.take(ctx, false)
	require.True(t, ok)
	assert.Equal(t, int64(1), id, "in the order asked for")
	q.add(1, job{wantChat: true}) // news while chat 1 is held
	id2, _, _ := q.take(ctx, false)
	assert.Equal(t, int64(2), id2, "chat 1 waits for its worker")
	q.done(1, job{}, nil)
	id, j, _ := q.take(ctx, false)
	assert.Equal(t, int64(1), id, "then goes again")
	assert.True(t, j.wantChat)
	assert.Equal(t, 2, q.size(), "both chats are held")
}

func TestQueueMergesRequestsForTheSameChat(t *testing.T) {
	q := newQueue(func(int) time.Duration { return 0 })
	older := chatclient.Chat{ID: 1, Status: chatclient.StatusNew}
	newer := chatclient.Chat{ID: 1, Status: chatclient.StatusFinished}
	now := time.Now()
	q.add(1, job{obs: &newer, obsAt: now})
	q.add(1, job{obs: &older, obsAt: now.Add(-time.Second)})
	q.add(1, job{wantChat: true})
	assert.Equal(t, 1, q.size())
	_, j, _ := q.take(context.Background(), false)
	assert.Equal(t, chatclient.StatusFinished, j.obs.Status, "the latest sighting wins")
	assert.True(t, j.wantChat)
}

func TestQueueHoldsBackAFailedChatOnly(t *testing.T) {
	now := time.Unix(1000, 0)
	q := newQueue(func(fails int) time.Duration { return time.Duration(fails) * time.Minute })
	q.now = func() time.Time { return now }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q.add(1, job{})
	q.add(2, job{})
	id, j, _ := q.take(ctx, false)
	require.Equal(t, int64(1), id)
	q.done(1, j, errors.New("handler failed"))
	id, _, _ = q.take(ctx, false)
	assert.Equal(t, int64(2), id, "the other chat goes on")
	q.done(2, job{}, nil)
	assert.Equal(t, 1, q.size(), "chat 1 waits for its backoff")
	now = now.Add(time.Minute)
	q.signal()
	id, _, ok := q.take(ctx, false)
	require.True(t, ok)
	assert.Equal(t, int64(1), id, "and goes after it")
}

func TestQueueTakeEndsWithTheContext(t *testing.T) {
	q := newQueue(func(int) time.Duration { return 0 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, ok := q.take(ctx, false)
	assert.False(t, ok)
}
