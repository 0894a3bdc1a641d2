package chatclient

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

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

func TestLongFilterListsAreCheckedInLinearTime(t *testing.T) {
	ids := make([]int64, 200000)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	_, err := Filter{OrderIDs: ids}.request()
	assert.NoError(t, err)
	ids[len(ids)-1] = 7
	_, err = Filter{OrderIDs: ids}.request()
	var ve *ValidationError
	if assert.ErrorAs(t, err, &ve) {
		assert.Equal(t, "filter.orderIds[199999]", ve.Field)
		assert.Equal(t, "must not repeat filter.orderIds[6]", ve.Rule)
	}
}
