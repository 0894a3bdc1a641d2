package chatclient

import (
	"regexp"
	"time"
)

// documentedWindow is the length of the window of every quota the Market documents:
// an hour. The Market's quota headers say how many requests the window allows and
// when it ends, never how long it is, so this is the window of a quota unless the
// Market's 420 states another.
const documentedWindow = time.Hour

// windowInMessage finds the window in a 420's "Hit rate limit of N requests per
// hour"; a fake Market (package chattest) writes a duration, "per 15s". A dot ends
// it only where a sentence ends, so "per 1.5s" is read whole.
var windowInMessage = regexp.MustCompile(`requests per (\S+?)(?:[ ;,]|\.(?:\s|$)|$)`)

// windowWords are the windows the Market names in words.
var windowWords = map[string]time.Duration{
	"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour,
}

// statedWindow is the window a 420's messages state, or 0 when none does.
func statedWindow(details []ErrorDetail) time.Duration {
	for _, d := range details {
		m := windowInMessage.FindStringSubmatch(d.Message)
		if m == nil {
			continue
		}
		if w, ok := windowWords[m[1]]; ok {
			return w
		}
		if w, err := time.ParseDuration(m[1]); err == nil && w > 0 {
			return w
		}
	}
	return 0
}

// quotaWindow is the window of the quota an answer's error reports: the one its
// messages state, else the documented hour when the answer reported a quota (its
// limit or its reset), else 0 (a 429 that only said when to retry).
func quotaWindow(e *RateLimitError) time.Duration {
	if e.Err != nil {
		if w := statedWindow(e.Err.Errors); w > 0 {
			return w
		}
	}
	if e.Limit >= 0 || !e.Until.IsZero() {
		return documentedWindow
	}
	return 0
}
