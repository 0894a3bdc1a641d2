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
