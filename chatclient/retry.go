package chatclient

import (
	"fmt"
	"math"
	"time"
)

// Backoff is an exponential backoff: the wait before retry n (n from 1) is drawn
// uniformly from [0, min(Max, Initial*Multiplier^(n-1))] ("full jitter"), so that many
// clients that failed together do not retry together.
type Backoff struct {
	// Initial is the cap of the first wait.
	Initial time.Duration
	// Max bounds every wait.
	Max time.Duration
	// Multiplier grows the cap from one retry to the next; at least 1.
	Multiplier float64
}

// Cap returns the most the wait before retry n (n from 1) may be.
func (b Backoff) Cap(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	c := float64(b.Initial) * math.Pow(b.Multiplier, float64(n-1))
	if c > float64(b.Max) || math.IsInf(c, 0) || math.IsNaN(c) {
		return b.Max
	}
	return time.Duration(c)
}

func (b Backoff) validate(field string) error {
	switch {
	case b.Initial <= 0:
		return &ValidationError{Field: field + ".Initial", Rule: "must be positive", Value: b.Initial}
	case b.Max < b.Initial:
		return &ValidationError{Field: field + ".Max", Rule: "must be at least Initial", Value: b.Max}
	case !(b.Multiplier >= 1):
		return &ValidationError{Field: field + ".Multiplier", Rule: "must be at least 1", Value: b.Multiplier}
	}
	return nil
}

// RetryPolicy says how often and how patiently the client retries a call. A field left
// zero takes its value from [DefaultRetryPolicy], so RetryPolicy{MaxAttempts: 3} keeps
// the default backoffs.
type RetryPolicy struct {
	// MaxAttempts bounds the requests one call sends, the first included. 1 means no
	// retries.
	MaxAttempts int
	// Backoff paces retries after network errors and HTTP 500, 502, 503 and 504.
	Backoff Backoff
	// ParallelBackoff paces retries after a 420 for too many parallel requests (or a
	// 420 whose quota headers do not say when it clears). Such a limit clears in
	// moments, so these waits are short.
	ParallelBackoff Backoff
}

// DefaultRetryPolicy returns the policy a client uses unless told otherwise: 5 attempts
// in all; after a network error or 5xx, full-jitter waits capped at 250ms, 500ms, 1s, 2s
// (so a failing call gives up within about 4s of waiting, inside a typical request
// deadline); after a parallel-limit 420, waits capped at 100ms, 200ms, 400ms, 800ms.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:     5,
		Backoff:         Backoff{Initial: 250 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2},
		ParallelBackoff: Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2},
	}
}

// withDefaults fills the fields left zero from the default policy.
func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts == 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.Backoff == (Backoff{}) {
		p.Backoff = d.Backoff
	}
	if p.ParallelBackoff == (Backoff{}) {
		p.ParallelBackoff = d.ParallelBackoff
	}
	return p
}

func (p RetryPolicy) validate() error {
	if p.MaxAttempts < 1 {
		return &ValidationError{Field: "RetryPolicy.MaxAttempts", Rule: "must be at least 1", Value: p.MaxAttempts}
	}
	if err := p.Backoff.validate("RetryPolicy.Backoff"); err != nil {
		return err
	}
	return p.ParallelBackoff.validate("RetryPolicy.ParallelBackoff")
}

// WaitReason says why the client waits before sending a request.
type WaitReason string

// The reasons a [RetryInfo] reports.
const (
	// WaitNetworkError: the request failed on the network.
	WaitNetworkError WaitReason = "network error"
	// WaitServerError: the Market answered 500, 502, 503 or 504.
	WaitServerError WaitReason = "server error"
	// WaitParallelLimit: the Market answered 420 for too many parallel requests (or a
	// 420 or 429 that says nothing of when it clears).
	WaitParallelLimit WaitReason = "parallel-request limit"
	// WaitQuotaReset: the Market answered 420 for a spent quota; the client waits for
	// the reset the answer announced.
	WaitQuotaReset WaitReason = "quota reset"
	// WaitQuotaPacing: an earlier answer showed the quota spent, so the client waits for
	// its reset before sending at all.
	WaitQuotaPacing WaitReason = "quota pacing"
	// WaitRetryAfter: the Market answered 429 with a Retry-After header.
	WaitRetryAfter WaitReason = "retry-after"
	// WaitLanding: a message or file may have reached the Market though its attempt
	// failed; the client waits until it can no longer land, then reads the chat's
	// history (see [WithLandingWindow]). Nothing is sent again.
	WaitLanding WaitReason = "waiting for a send to land"
)

// RetryInfo describes a wait before a retry (or before a paced request), as given to the
// hook of [WithRetryHook].
type RetryInfo struct {
	// Operation is the API operation.
	Operation Operation
	// BusinessID is the business the call is for.
	BusinessID int64
	// Attempt is the number of the request about to be sent after the wait (2 for the
	// first retry).
	Attempt int
	// Wait is how long the client will sleep.
	Wait time.Duration
	// Reason says why.
	Reason WaitReason
	// StatusCode is the status of the answer that led to the wait, 0 if none.
	StatusCode int
	// Err is the failure that led to the wait, if any.
	Err error
}

// String describes the wait for people.
func (r RetryInfo) String() string {
	s := fmt.Sprintf("%s: waiting %s before attempt %d (%s", r.Operation, r.Wait.Round(time.Millisecond), r.Attempt, r.Reason)
	if r.StatusCode != 0 {
		s += fmt.Sprintf(", HTTP %d", r.StatusCode)
	}
	return s + ")"
}
