package inbox

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestOptionsRefuseNonsense(t *testing.T) {
	for name, o := range map[string]Option{
		"share 0":           WithShare(0),
		"share above 1":     WithShare(1.5),
		"negative":          WithMinInterval(-time.Second),
		"no workers":        WithWorkers(0),
		"no backoff":        WithBackoff(0, time.Second),
		"longest too short": WithBackoff(time.Second, time.Millisecond),
		"no logger":         WithLogger(nil),
		"no clock":          WithClock(nil),
	} {
		c := defaults()
		assert.Error(t, o(&c), name)
	}
}

func TestBackoffDoublesUpToTheLongest(t *testing.T) {
	c := defaults()
	assert.NoError(t, WithBackoff(100*time.Millisecond, time.Second)(&c))
	var got []time.Duration
	for fails := 1; fails <= 6; fails++ {
		got = append(got, c.backoff(fails))
	}
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}, got)
}
