package chatclient

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageServer serves getChats pages of two chats each: page n (from 0) holds chats 2n+1
// and 2n+2, and its token names page n+1; pages [from, from+fail) answer 500
// `fails` times each before they answer.
func pageReply(n, last int) reply {
	next := ""
	if n < last {
		next = fmt.Sprintf(`,"paging":{"nextPageToken":"p%d"}`, n+1)
	}
	return jsonReply(200, fmt.Sprintf(`{"status":"OK","result":{"chats":[%s,%s]%s}}`, chat(int64(2*n+1), 1), chat(int64(2*n+2), 2), next))
}

func TestChatListingResumesFromAStoredTokenAfterAFailure(t *testing.T) {
	var mu sync.Mutex
	failing := true
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		n := 0
		if tok := r.URL.Query().Get("page_token"); tok != "" {
			_, _ = fmt.Sscanf(tok, "p%d", &n)
		}
		mu.Lock()
		fail := failing && n == 2
		mu.Unlock()
		if fail {
			w.WriteHeader(404) // a failure retrying cannot change
			_, _ = w.Write([]byte(`{"status":"ERROR","errors":[{"code":"NOT_FOUND","message":"gone for now"}]}`))
			return
		}
		rep := pageReply(n, 3)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(rep.body))
	}})
	c, _ := newTestClient(t, srv.srv.URL)
	ctx := context.Background()

	var seenIDs []int64
	saved := ""
	for page, err := range c.ChatPages(ctx, 5, Filter{}, PageRequest{}) {
		if err != nil {
			assert.ErrorIs(t, err, ErrNotFound)
			break
		}
		for _, ch := range page.Chats {
			seenIDs = append(seenIDs, ch.ID)
		}
		saved = page.NextPageToken
	}
	assert.Equal(t, []int64{1, 2, 3, 4}, seenIDs, "two pages before the failure")
	assert.Equal(t, "p2", saved)

	mu.Lock()
	failing = false
	mu.Unlock()
	for page, err := range c.ChatPages(ctx, 5, Filter{}, PageRequest{Token: saved}) {
		require.NoError(t, err)
		for _, ch := range page.Chats {
			seenIDs = append(seenIDs, ch.ID)
		}
	}
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8}, seenIDs, "resumed where it stopped: nothing lost, nothing twice")
}
