package chatclient

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// zones are the zone names an HTTP or RFC 822 date may end with, and their offsets.
// A name not listed here is an error, not silently UTC (Go's time.Parse would make up
// a zone with offset 0 for it).
var zones = map[string]int{
	"GMT": 0, "UT": 0, "UTC": 0, "Z": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
	"MSK": 3, // the Market's own zone
}

// dateLayouts are the date-and-time forms, without weekday and zone, that an HTTP date
// (RFC 1123, RFC 850) or an RFC 822 date (two-digit year, seconds optional) takes.
var dateLayouts = []string{
	"2 Jan 2006 15:04:05", "2 Jan 06 15:04:05", "2 Jan 2006 15:04", "2 Jan 06 15:04",
	"2-Jan-06 15:04:05", "2-Jan-2006 15:04:05",
}

var errBadDate = errors.New("not an HTTP or RFC 822 date")

// parseHTTPDate reads a date in any form HTTP and RFC 822 allow: RFC 1123
// ("Thu, 10 Jul 2018 00:42:42 GMT"), RFC 850 ("Thursday, 10-Jul-18 00:42:42 GMT"),
// asctime ("Thu Jul 10 00:42:42 2018", GMT), RFC 822 with a two-digit year and with or
// without the weekday and seconds, with a numeric zone (+0300) or a zone name from
// zones. An unknown zone name is an error.
func parseHTTPDate(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.ANSIC, v); err == nil {
		return t.UTC(), nil
	}
	if i := strings.Index(v, ","); i >= 0 {
		v = strings.TrimSpace(v[i+1:]) // the weekday says nothing the date does not
	}
	cut := strings.LastIndexByte(v, ' ')
	if cut < 0 {
		return time.Time{}, errBadDate
	}
	rest, zone := v[:cut], v[cut+1:]
	offset, ok := zoneOffset(zone)
	if !ok {
		return time.Time{}, errors.New("unknown time zone " + strconv.Quote(zone))
	}
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, rest, time.UTC); err == nil {
			return t.Add(-time.Duration(offset) * time.Second).UTC(), nil
		}
	}
	return time.Time{}, errBadDate
}

// zoneOffset reads a zone as a name or as +hhmm / -hhmm, in seconds east of UTC.
func zoneOffset(z string) (int, bool) {
	if h, ok := zones[strings.ToUpper(z)]; ok {
		return h * 3600, true
	}
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return 0, false
	}
	hh, err1 := strconv.Atoi(z[1:3])
	mm, err2 := strconv.Atoi(z[3:5])
	if err1 != nil || err2 != nil || hh > 23 || mm > 59 {
		return 0, false
	}
	s := hh*3600 + mm*60
	if z[0] == '-' {
		s = -s
	}
	return s, true
}
