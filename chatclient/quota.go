package chatclient

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimit holds the X-RateLimit-Resource-* headers of an answer: the hourly quota of
// the called operation. Limit and Remaining are -1 and Until is zero when the answer
// did not carry the header (or carried one that does not parse).
type RateLimit struct {
	// Limit is how many requests the quota allows in its window.
	Limit int64
	// Remaining is how many requests are left in the window.
	Remaining int64
	// Until is when the window ends and the quota resets, on the Market's clock, as the
	// Market reported it.
	Until time.Time
	// ResetAt is Until on the local clock: Until minus the answer's Date, from the
	// moment the answer arrived. Zero when Until is unknown.
	ResetAt time.Time
}

// String formats the quota for people, e.g. "quota 1000, 0 left until 2026-11-22T05:00:00Z".
func (r RateLimit) String() string {
	var parts []string
	if r.Limit >= 0 {
		parts = append(parts, "quota "+strconv.FormatInt(r.Limit, 10))
	}
	if r.Remaining >= 0 {
		parts = append(parts, strconv.FormatInt(r.Remaining, 10)+" left")
	}
	s := strings.Join(parts, ", ")
	if !r.Until.IsZero() {
		if s != "" {
			s += " "
		}
		s += "until " + r.Until.UTC().Format(time.RFC3339)
	}
	return s
}

// Header names of the Market's quota report, in Go's canonical form so that reading
// them is a plain map lookup.
const (
	headerLimit     = "X-Ratelimit-Resource-Limit"
	headerRemaining = "X-Ratelimit-Resource-Remaining"
	headerUntil     = "X-Ratelimit-Resource-Until"
)

func header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// report is what an answer says of its operation's quota and of the Market's clock,
// parsed once, when the answer arrives: the retry decision, the errors and the limits
// store all read it from the attempt's outcome.
type report struct {
	RateLimit           // the quota headers; ResetAt is set from the Date
	date      time.Time // the answer's Date; zero when it had none that parses
}

// parseReport reads an answer's quota headers and its Date; arrived is the local time
// the answer arrived. A missing or malformed header leaves its field unknown (-1, or
// the zero time).
func parseReport(h http.Header, arrived time.Time) report {
	r := report{RateLimit: RateLimit{Limit: -1, Remaining: -1}}
	if v, err := strconv.ParseInt(header(h, headerLimit), 10, 64); err == nil && v >= 0 {
		r.Limit = v
	}
	if v, err := strconv.ParseInt(header(h, headerRemaining), 10, 64); err == nil && v >= 0 {
		r.Remaining = v
	}
	if v := header(h, headerUntil); v != "" {
		if t, err := parseHTTPDate(v); err == nil {
			r.Until = t
		}
	}
	if t, err := http.ParseTime(header(h, "Date")); err == nil {
		r.date = t
	}
	if !r.Until.IsZero() {
		r.ResetAt = arrived.Add(r.wait(r.Until, arrived))
	}
	return r
}

// wait is how long until t, a time on the Market's clock, measured on the Market's
// own clock (the answer's Date) when the answer has one, and applied from the local
// time the answer arrived, so that a local clock that is off does not matter.
func (r report) wait(t, arrived time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	if !r.date.IsZero() {
		return t.Sub(r.date)
	}
	return t.Sub(arrived)
}

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
