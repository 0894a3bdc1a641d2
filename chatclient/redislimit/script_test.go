package redislimit

import (
	"regexp"
	"strconv"
	"testing"
)

// The script and the Go side name the answer codes alike, with the same values.
func TestAnswerCodesAgree(t *testing.T) {
	m := regexp.MustCompile(`(?m)^local REFUSED, TAKEN, WAIT = (\d+), (\d+), (\d+)`).FindStringSubmatch(limiterLua)
	if m == nil {
		t.Fatal("limiter.lua does not declare REFUSED, TAKEN, WAIT on one line")
	}
	for i, want := range []int{answerRefused, answerTaken, answerWait} {
		if m[i+1] != strconv.Itoa(want) {
			t.Errorf("limiter.lua's code %d is %s, script.go's %d", i, m[i+1], want)
		}
	}
}
