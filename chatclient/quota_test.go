package chatclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestUntilIsReadInEveryDateForm(t *testing.T) {
	want := time.Date(2018, 7, 10, 0, 42, 42, 0, time.UTC)
	for _, v := range []string{
		"Tue, 10 Jul 2018 00:42:42 GMT",     // RFC 1123
		"Tuesday, 10-Jul-18 00:42:42 GMT",   // RFC 850
		"Tue Jul 10 00:42:42 2018",          // asctime
		"Tue, 10 Jul 18 00:42:42 GMT",       // RFC 822, two-digit year
		"10 Jul 18 00:42:42 GMT",            // RFC 822 without the weekday
		"10 Jul 2018 00:42:42 UT",           // UT
		"Tue, 10 Jul 2018 03:42:42 +0300",   // numeric zone
		"Tue, 10 Jul 2018 03:42:42 MSK",     // the Market's zone
		"Mon, 09 Jul 2018 20:42:42 EDT",     // an RFC 822 US zone
		"Tue, 10 Jul 2018 00:42:42 UTC",     // UTC
		"  Tue, 10 Jul 2018 00:42:42 GMT  ", // white space around
	} {
		got, err := parseHTTPDate(v)
		if assert.NoError(t, err, v) {
			assert.True(t, want.Equal(got), "%s: got %v", v, got)
		}
	}
	for _, v := range []string{"Tue, 10 Jul 2018 00:42:42 XYZ", "10 Jul 2018 00:42:42 CEST", "yesterday", ""} {
		_, err := parseHTTPDate(v)
		assert.Error(t, err, "%q: an unknown zone is not silently UTC", v)
	}
}
