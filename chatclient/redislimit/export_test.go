package redislimit

import "time"

// SetReleaseDelay sets how long l holds back the end of a call before it sends it on
// its own (see releaseDelay), so that a test can count round trips deterministically.
func SetReleaseDelay(l *Limiter, d time.Duration) { l.releaseDelay = d }
