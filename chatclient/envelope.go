package chatclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ymchat/ymchat/api"
)

// ErrStatusError is matched by the [*ResponseError] of a 2xx answer whose envelope
// says "status": "ERROR" (or a status this client does not know): the Market failed to
// process the request, whatever the HTTP status says. The Market's codes are in
// [ResponseError.Errors].
var ErrStatusError = errors.New(`the answer's status is not "OK"`)

// ErrNoResult is matched by the [*ResponseError] of a 2xx answer whose envelope holds
// no result (null or missing), or a result without the id that names it. Such an
// answer is never taken for an empty page or an empty chat.
var ErrNoResult = errors.New("the answer holds no result")

// envelope is the body of every answer of the Market: a status, the result, and the
// errors when processing failed.
type envelope[T any] struct {
	Status api.ResponseStatus `json:"status"`
	Result *T                 `json:"result"`
	Errors []api.APIError     `json:"errors"`
}

// get runs a call whose request a generated builder made (err is the builder's error)
// and returns the result of its answer. named reports whether the result names what it
// describes (a chat id, a message id): a result that does not is ErrNoResult.
func get[T any](ctx context.Context, c *Client, op Operation, business int64, req *http.Request, err error, named func(*T) bool) (*T, error) {
	if err != nil {
		return nil, err
	}
	a, err := c.do(ctx, &call{op: op, business: business, req: req})
	if err != nil {
		return nil, err
	}
	defer putBody(a.buf)
	var env envelope[T]
	if err := json.Unmarshal(a.buf.Bytes(), &env); err != nil {
		return nil, c.responseError(op, &a, err)
	}
	if err := c.envelopeError(op, &a, env.Status, env.Errors); err != nil {
		return nil, err
	}
	if env.Result == nil || (named != nil && !named(env.Result)) {
		return nil, c.responseError(op, &a, ErrNoResult)
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
