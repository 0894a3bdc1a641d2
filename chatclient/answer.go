package chatclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/ymchat/ymchat/api"
)

// answer is a 2xx answer whose body has been read into a pooled buffer.
type answer struct {
	status int
	buf    *bytes.Buffer
}

func (c *Client) responseError(op Operation, a *answer, err error) *ResponseError {
	return &ResponseError{Operation: op, StatusCode: a.status, Body: c.excerpt(a.buf.Bytes()), Err: err}
}

// bodies recycles the buffers answers are read into: a listing reads page after page
// of about the same size.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled keeps buffers that grew for an unusually large answer out of the pool.
const maxPooled = 1 << 20

func putBody(b *bytes.Buffer) {
	if b != nil && b.Cap() <= maxPooled {
		bodies.Put(b)
	}
}

// errTooLarge is wrapped by the error for an answer whose body passes the limit.
var errTooLarge = errors.New("the body is larger than the client reads")

// readBody reads at most limit bytes of the answer into a pooled buffer and closes the
// body. A Content-Length over the limit is refused before reading; otherwise the buffer
// grows by doubling but never past limit+1 bytes, so a hostile body costs at most about
// twice the limit in memory, not several times.
func readBody(resp *http.Response, limit int) (*bytes.Buffer, error) {
	defer resp.Body.Close()
	buf := bodies.Get().(*bytes.Buffer)
	buf.Reset()
	if n := resp.ContentLength; n > int64(limit) {
		return buf, fmt.Errorf("%w (Content-Length %d, limit %d)", errTooLarge, n, limit)
	} else if n > 0 {
		buf.Grow(int(n) + 1) // +1: room to see the end of the body without growing
	}
	for {
		if buf.Available() == 0 {
			// Double, but never past limit+1: the buffers of one body add up to at most
			// about twice the limit.
			n := max(2*buf.Cap(), 4096)
			if n >= limit {
				n = limit + 1
			}
			grow(buf, n)
		}
		p := buf.AvailableBuffer()[:buf.Available()]
		n, err := resp.Body.Read(p)
		buf.Write(p[:n])
		if buf.Len() > limit {
			return buf, fmt.Errorf("%w (limit %d)", errTooLarge, limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// grow gives buf a capacity of exactly n (bytes.Buffer.Grow would take about twice
// what it is asked for, which is what makes a hostile body expensive).
func grow(buf *bytes.Buffer, n int) {
	b := make([]byte, buf.Len(), n)
	copy(b, buf.Bytes())
	*buf = *bytes.NewBuffer(b)
}

// apiError types a non-2xx answer, reading the Market's error envelope when the body
// is one.
func (c *Client) apiError(op Operation, status int, rl RateLimit, body []byte) *APIError {
	e := &APIError{Operation: op, StatusCode: status, RateLimit: rl}
	var env api.ErrorEnvelope
	if json.Unmarshal(body, &env) == nil {
		for _, d := range env.Errors {
			e.Errors = append(e.Errors, ErrorDetail{Code: c.redact(d.Code), Message: c.redact(d.Message)})
		}
	}
	if len(e.Errors) == 0 {
		e.Body = c.excerpt(body)
	}
	return e
}

// redact takes the token out of text that came from elsewhere (a body the server sent,
// which may echo the request's headers).
func (c *Client) redact(s string) string {
	if c.auth.token == "" || !strings.Contains(s, c.auth.token) {
		return s
	}
	return strings.ReplaceAll(s, c.auth.token, "[redacted]")
}

// excerpt is a bounded, readable start of a body that came from elsewhere, with the
// token taken out.
func (c *Client) excerpt(body []byte) string {
	if n := excerptLen + len(c.auth.token); len(body) > n {
		body = body[:n] // long enough that a token across the cut is still found
	}
	return excerpt([]byte(c.redact(string(body))))
}

// envelope is the body of every answer of the Market: a status, the result, and the
// errors when processing failed.
type envelope[T any] struct {
	Status api.ResponseStatus `json:"status"`
	Result *T                 `json:"result"`
	Errors []api.APIError     `json:"errors"`
}

// result decodes a 2xx answer's envelope, gives its buffer back and returns the
// result. named reports whether the result names what it describes (a chat id, a
// message id): a result that does not is ErrNoResult.
func result[T any](c *Client, op Operation, a *answer, named func(*T) bool) (*T, error) {
	defer putBody(a.buf)
	var env envelope[T]
	if err := json.Unmarshal(a.buf.Bytes(), &env); err != nil {
		return nil, c.responseError(op, a, err)
	}
	if err := c.envelopeError(op, a, env.Status, env.Errors); err != nil {
		return nil, err
	}
	if env.Result == nil || (named != nil && !named(env.Result)) {
		return nil, c.responseError(op, a, ErrNoResult)
	}
	return env.Result, nil
}

// envelopeError is the error of a 2xx answer whose envelope does not say OK; nil when
// it does. A missing status is taken for OK when the result is there: the status is
// redundant with it, and only ERROR is documented besides OK.
func (c *Client) envelopeError(op Operation, a *answer, status api.ResponseStatus, details []api.APIError) error {
	if status == api.ResponseStatusOK || status == "" {
		return nil
	}
	e := c.responseError(op, a, ErrStatusError)
	for _, d := range details {
		e.Errors = append(e.Errors, ErrorDetail{Code: c.redact(d.Code), Message: c.redact(d.Message)})
	}
	return e
}

// acceptance returns nil when the 2xx answer of a send says the Market took the
// message (a JSON envelope whose status is OK), and otherwise the *ResponseError that
// says what the answer was: the chat's history decides then.
func (c *Client) acceptance(op Operation, a *answer) error {
	defer putBody(a.buf)
	var env envelope[json.RawMessage]
	if err := json.Unmarshal(a.buf.Bytes(), &env); err != nil {
		return c.responseError(op, a, err)
	}
	if env.Status != api.ResponseStatusOK {
		return c.envelopeError(op, a, api.ResponseStatusError, env.Errors)
	}
	return nil
}
