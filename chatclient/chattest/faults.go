package chattest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Fault is a scripted misbehaviour of the fake Market, for testing how code copes with
// failures. A fault with only Delay slows the answer down and lets it through; the
// other kinds replace it.
type Fault struct {
	// Status answers with this HTTP status (and Body) instead of the real answer.
	Status int
	// Body is the body sent with Status; empty means the JSON error envelope.
	Body string
	// ContentType is the Content-Type sent with Status; default application/json.
	ContentType string
	// Header holds extra response headers sent with Status.
	Header http.Header
	// Delay holds the answer back this long (ending early if the client goes away).
	Delay time.Duration
	// Drop closes the connection without an answer, before the request is applied:
	// the Market never saw it.
	Drop bool
	// DropAfter applies the request (a message is sent, a chat started), then closes
	// the connection without an answer: the Market acted, then the connection dropped.
	// It tests that a client never sends twice what it cannot tell was sent.
	DropAfter bool
	// Truncate sends the headers and half of the real body, then closes the connection.
	Truncate bool
}

// StatusFault answers with status and the JSON error envelope {code: message}.
func StatusFault(status int, code, message string) Fault {
	return Fault{Status: status, Body: errorBody(code, message)}
}

// HTML502 answers as a proxy in front of the Market does when it fails: 502 with an
// HTML page.
func HTML502() Fault {
	return Fault{Status: http.StatusBadGateway, ContentType: "text/html",
		Body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"}
}

// NotJSON answers 200 with a body that is not JSON.
func NotJSON() Fault {
	return Fault{Status: http.StatusOK, ContentType: "text/plain", Body: "OK"}
}

// ParallelLimit answers 420 as the Market does for a fifth parallel request.
func ParallelLimit() Fault {
	return Fault{Status: 420, Body: errorBody("LIMIT_EXCEEDED", "Hit rate limit of 4 parallel requests")}
}

// Drop closes the connection without answering, before the request is applied.
func Drop() Fault { return Fault{Drop: true} }

// DropAfter applies the request, then closes the connection without answering.
func DropAfter() Fault { return Fault{DropAfter: true} }

// Truncated cuts the real answer off halfway through its body.
func Truncated() Fault { return Fault{Truncate: true} }

// Delay slows the answer down by d.
func Delay(d time.Duration) Fault { return Fault{Delay: d} }

func errorBody(code, message string) string {
	b, _ := json.Marshal(map[string]any{"status": "ERROR", "errors": []map[string]string{{"code": code, "message": message}}})
	return string(b)
}

// faults holds the scripted faults per operation and the random fault rate.
type faults struct {
	mu     sync.Mutex
	queued map[string][]Fault // by operation; "" for any
	rate   float64
	rnd    *rand.Rand
	pool   []Fault
}

func (f *faults) script(op string, fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queued[op] = append(f.queued[op], fs...)
}

func (f *faults) setRate(rate float64, seed uint64, pool ...Fault) error {
	if rate < 0 || rate > 1 {
		return fmt.Errorf("chattest: fault rate %v must be between 0 and 1", rate)
	}
	if rate > 0 && len(pool) == 0 {
		return fmt.Errorf("chattest: a fault rate needs at least one fault to draw from")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate, f.pool = rate, pool
	f.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return nil
}

// next returns the fault for the next request of op, if any: scripted ones first (the
// operation's own, then those for any operation), then a random draw.
func (f *faults) next(op string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, key := range []string{op, ""} {
		if q := f.queued[key]; len(q) > 0 {
			f.queued[key] = q[1:]
			return q[0], true
		}
	}
	if f.rate > 0 && f.rnd.Float64() < f.rate {
		return f.pool[f.rnd.IntN(len(f.pool))], true
	}
	return Fault{}, false
}
