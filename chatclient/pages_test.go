package chatclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chatsPage answers a getChats page holding the chats ids, with next as its token.
func chatsPage(w http.ResponseWriter, next string, ids ...int64) {
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = chat(id, id*10)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"status":"OK","result":{"chats":[%s],"paging":{"nextPageToken":%q}}}`, strings.Join(items, ","), next)
}

func TestAListingYieldsEachChatOnceWhateverThePagesRepeat(t *testing.T) {
	pages := map[string][]int64{
		"":   {1, 2, 3},
		"p2": {3, 4},    // repeats the last of the page before
		"p3": {1, 2, 3}, // the first page again, under a fresh token
		"p4": {5},
	}
	next := map[string]string{"": "p2", "p2": "p3", "p3": "p4", "p4": ""}
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("page_token")
		chatsPage(w, next[tok], pages[tok]...)
	}})
	c, _ := newTestClient(t, srv.srv.URL)
	var got []int64
	for ch, err := range c.Chats(context.Background(), 5, Filter{}) {
		require.NoError(t, err)
		got = append(got, ch.ID)
	}
	assert.Equal(t, []int64{1, 2, 3, 4, 5}, got)
}

func TestAListingOfRepeatedPagesStops(t *testing.T) {
	var calls atomic.Int64
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		chatsPage(w, fmt.Sprintf("fresh-%d", n), 1, 2, 3) // the same items under fresh tokens
	}})
	c, _ := newTestClient(t, srv.srv.URL)
	var got []int64
	var last error
	for ch, err := range c.Chats(context.Background(), 5, Filter{}) {
		if err != nil {
			last = err
			break
		}
		got = append(got, ch.ID)
	}
	assert.Equal(t, []int64{1, 2, 3}, got, "each once")
	require.ErrorIs(t, last, ErrNoProgress)
	assert.Equal(t, int64(1+MaxEmptyPages), calls.Load(), "stopped once pages brought nothing new, not after 200")
}

func TestAHistoryPageThatRepeatsThePreviousIsYieldedOnce(t *testing.T) {
	msg := func(id int64) string {
		return fmt.Sprintf(`{"messageId":%d,"createdAt":"2026-11-01T10:00:00+03:00","sender":"CUSTOMER","message":"m%d"}`, id, id)
	}
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("page_token") {
		case "":
			fmt.Fprintf(w, `{"status":"OK","result":{"messages":[%s,%s],"paging":{"nextPageToken":"b"}}}`, msg(1), msg(2))
		case "b":
			fmt.Fprintf(w, `{"status":"OK","result":{"messages":[%s,%s],"paging":{"nextPageToken":"c"}}}`, msg(1), msg(2))
		default:
			fmt.Fprintf(w, `{"status":"OK","result":{"messages":[%s],"paging":{}}}`, msg(3))
		}
	}})
	c, _ := newTestClient(t, srv.srv.URL)
	var got []int64
	for m, err := range c.Messages(context.Background(), 5, 7, 0) {
		require.NoError(t, err)
		got = append(got, m.ID)
	}
	assert.Equal(t, []int64{1, 2, 3}, got)
}

func TestIDSetKeepsEightBytesAnID(t *testing.T) {
	var s idSet
	for i := range int64(10_000) {
		require.True(t, s.add((i*7919)%10_007))
	}
	assert.False(t, s.add(7919))
	assert.LessOrEqual(t, cap(s.ids), 2*10_000, "a sorted slice: 8 bytes an id, give or take growth")
}

func TestListingStopsAfterMaxEmptyPagesInARow(t *testing.T) {
	var calls atomic.Int64
	srv := newScripted(t, reply{handler: func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"OK","result":{"chats":[],"paging":{"nextPageToken":"fresh-%d"}}}`, n)
	}})
	c, _ := newTestClient(t, srv.srv.URL)
	count := 0
	var last error
	for _, err := range c.Chats(context.Background(), 5, Filter{}) {
		if err != nil {
			last = err
			break
		}
		count++
	}
	var pe *PagingError
	require.ErrorAs(t, last, &pe)
	assert.ErrorIs(t, last, ErrNoProgress)
	assert.Equal(t, OpGetChats, pe.Operation)
	assert.Equal(t, MaxEmptyPages, pe.Pages)
	assert.Equal(t, int64(MaxEmptyPages), calls.Load(), "stopped without spending more of the quota")
	assert.Zero(t, count)
	assert.Contains(t, last.Error(), "chatclient: getChats: stopped after 10 pages")
}

func TestLoopDetectorFindsEveryCycleAndNoFalseOne(t *testing.T) {
	// No false alarm over a long run of distinct tokens.
	var d loopDetector
	for i := range 100000 {
		if d.repeated(fmt.Sprint("t", i)) {
			t.Fatalf("false repeat at %d", i)
		}
	}
	// Every cycle, entered after any prefix, is caught within a small multiple of
	// prefix+cycle pages (Brent's method: the checkpoint interval doubles until it
	// spans the cycle).
	for prefix := 0; prefix < 40; prefix += 7 {
		for cycle := 1; cycle <= 50; cycle++ {
			var d loopDetector
			steps := 0
			for i := 0; ; i++ {
				tok := fmt.Sprint("p", i)
				if i >= prefix {
					tok = fmt.Sprint("c", (i-prefix)%cycle)
				}
				if d.repeated(tok) {
					break
				}
				steps++
				if steps > 10*(prefix+cycle) {
					t.Fatalf("cycle %d after %d not caught", cycle, prefix)
				}
			}
			assert.LessOrEqual(t, steps, 4*(prefix+cycle), "cycle %d after prefix %d", cycle, prefix)
			if cycle == 1 {
				assert.Equal(t, prefix+1, steps, "a token repeated at once is caught at once")
			}
		}
	}
}
