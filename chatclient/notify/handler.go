package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/ymchat/ymchat/chatclient"
)

// The error types of the answers (error.type). The Handler sends WRONG_EVENT_FORMAT
// with 400 and UNKNOWN otherwise; DUPLICATED_EVENT exists in the vendor's contract
// but is never sent, as repeats are answered 200.
const (
	ErrorWrongEventFormat = "WRONG_EVENT_FORMAT"
	ErrorDuplicatedEvent  = "DUPLICATED_EVENT"
	ErrorUnknown          = "UNKNOWN"
)

// Handler is the http.Handler that receives the Market's notifications; build it
// with [NewHandler]. It is safe for concurrent use.
type Handler struct {
	cfg   config
	dedup *dedup // nil without WithDedup
	// waiting, when set (by tests only), is called when a repeat starts waiting for
	// the run of its event that is under way.
	waiting func()
}

// NewHandler returns a Handler configured by opts. It fails only on invalid options
// (nil functions, out-of-range values, invalid prefixes); the error names the option.
// With no On… option every notification is answered 200 and dropped.
func NewHandler(opts ...Option) (*Handler, error) {
	c := config{
		timeout: DefaultTimeout,
		maxBody: DefaultMaxBodySize,
		name:    DefaultName,
		version: chatclient.Version(),
		now:     time.Now,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return &Handler{cfg: c, dedup: newDedup(c.dedup)}, nil
}

type accepted struct {
	Version string `json:"version"`
	Name    string `json:"name"`
	Time    string `json:"time"`
}

type errorBody struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// ServeHTTP handles one notification:
//
//   - a caller outside [WithAllowedNetworks]: 403;
//   - a method other than POST: 405 with Allow: POST;
//   - a body that cannot be read in full (the connection failed, was cut or timed
//     out): 500 UNKNOWN, so that the Market sends it again;
//   - a body over the size limit, not a JSON object, without notificationType, or a
//     chat notification with a missing or invalid field: 400 WRONG_EVENT_FORMAT;
//   - PING: 200 at once, no user code runs;
//   - a repeat remembered by [WithDedup]: 200, no user code runs; a repeat of one
//     whose function is running waits for that run and gets its answer;
//   - otherwise the function set for the type runs (200 when none is set): 200 when
//     it returns nil, 500 UNKNOWN when it returns an error, panics or outlives its
//     timeout.
//
// The path is not checked. Every answer is application/json and matches [OpenAPI].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.cfg.now()
	log := h.cfg.logger
	if h.cfg.restrict {
		a, ok := clientAddr(r, h.cfg.trusted)
		if !ok || !contains(h.cfg.allowed, a) {
			log.Warn("notify: caller not allowed", "remote", r.RemoteAddr, "client", a, "x_forwarded_for", r.Header.Values("X-Forwarded-For"))
			writeError(w, http.StatusForbidden, ErrorUnknown, "caller address not allowed")
			return
		}
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, ErrorUnknown, "method "+r.Method+" not allowed; use POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			// The Market would send the same body again: only a 400 ends it.
			msg := "body exceeds " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"
			log.Warn("notify: rejected", "remote", r.RemoteAddr, "reason", msg)
			writeError(w, http.StatusBadRequest, ErrorWrongEventFormat, msg)
			return
		}
		// The body was not seen whole, so nothing says it is malformed; a 400 would
		// lose the notification, a 500 has the Market send it again.
		log.Error("notify: reading the body failed", "remote", r.RemoteAddr, "err", err)
		writeError(w, http.StatusInternalServerError, ErrorUnknown, "reading the body failed")
		return
	}
	typ, obj, err := decodeEnvelope(body)
	if err == nil && typ == TypePing {
		h.accept(w, start)
		return
	}
	var n Notification
	if err == nil {
		n, err = decodeTyped(typ, obj, body)
	}
	if err != nil {
		log.Warn("notify: rejected", "remote", r.RemoteAddr, "type", typ, "reason", err.Error())
		writeError(w, http.StatusBadRequest, ErrorWrongEventFormat, err.Error())
		return
	}
	call := h.callback(n)
	if call == nil {
		log.Debug("notify: no function for the type; taken", "type", typ)
		h.accept(w, start)
		return
	}
	var f *flight
	if h.dedup == nil {
		f = newFlight()
		h.start(r.Context(), call, n, f.end)
	} else {
		key := dedupKey(n)
		var lead bool
		f, lead = h.dedup.begin(key)
		switch {
		case f == nil:
			log.Debug("notify: repeat; taken", "type", typ)
			h.accept(w, start)
			return
		case lead:
			h.start(r.Context(), call, n, func(err error) { h.dedup.finish(key, f, err) })
		default:
			log.Debug("notify: repeat of a running notification; waiting for it", "type", typ)
			if h.waiting != nil {
				h.waiting()
			}
		}
	}
	if err := h.wait(r.Context(), f); err != nil {
		log.Error("notify: handler failed", "type", typ, "err", err)
		writeError(w, http.StatusInternalServerError, ErrorUnknown, h.failureMessage(err))
		return
	}
	h.accept(w, start)
}

// callback returns the user's function for n, or nil.
func (h *Handler) callback(n Notification) func(context.Context) error {
	c := &h.cfg
	switch v := n.(type) {
	case ChatCreated:
		if c.onCreated != nil {
			return func(ctx context.Context) error { return c.onCreated(ctx, v) }
		}
	case ChatMessageSent:
		if c.onSent != nil {
			return func(ctx context.Context) error { return c.onSent(ctx, v) }
		}
	case ChatArbitrageStarted:
		if c.onStarted != nil {
			return func(ctx context.Context) error { return c.onStarted(ctx, v) }
		}
	case ChatArbitrageFinished:
		if c.onFinished != nil {
			return func(ctx context.Context) error { return c.onFinished(ctx, v) }
		}
	case Other:
		if c.onOther != nil {
			return func(ctx context.Context) error { return c.onOther(ctx, v) }
		}
	case Ping:
		return nil
	}
	if c.onAny != nil {
		return func(ctx context.Context) error { return c.onAny(ctx, n) }
	}
	return nil
}

var (
	errPanic   = errors.New("panicked")
	errTimeout = errors.New("timed out")
)

// start calls fn in its own goroutine and passes its error (errPanic when it
// panics) to end. fn's context ends after the timeout but not when the caller hangs
// up: repeats may be waiting for its outcome, and a success is worth remembering
// whenever it comes. The context keeps the request's values.
func (h *Handler) start(req context.Context, fn func(context.Context) error, n Notification, end func(error)) {
	ctx, cancel := context.WithTimeoutCause(context.WithoutCancel(req), h.cfg.timeout, h.timeoutCause())
	go func() {
		defer cancel()
		// end runs however fn leaves (return, panic, runtime.Goexit), so that
		// waiting repeats are never left without an outcome.
		err := errPanic
		defer func() {
			if p := recover(); p != nil {
				h.cfg.logger.Error("notify: handler panicked", "type", n.NotificationType(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			end(err)
		}()
		err = fn(ctx)
		if err != nil && ctx.Err() != nil {
			err = context.Cause(ctx) // it failed because its time was up
		}
	}()
}

// wait returns the outcome of f, or errTimeout when the request's own timeout ends
// first (the run goes on; its outcome still counts for the repeats).
func (h *Handler) wait(req context.Context, f *flight) error {
	ctx, cancel := context.WithTimeoutCause(req, h.cfg.timeout, h.timeoutCause())
	defer cancel()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (h *Handler) timeoutCause() error {
	return fmt.Errorf("notify: %w after %v", errTimeout, h.cfg.timeout)
}

func (h *Handler) failureMessage(err error) string {
	switch {
	case errors.Is(err, errPanic):
		return "notification handler panicked"
	case errors.Is(err, errTimeout):
		return "notification handler did not finish within " + h.cfg.timeout.String()
	default:
		return "notification handler failed"
	}
}

func (h *Handler) accept(w http.ResponseWriter, start time.Time) {
	writeJSON(w, http.StatusOK, accepted{
		Version: h.cfg.version,
		Name:    h.cfg.name,
		Time:    start.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
	})
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	var b errorBody
	b.Error.Type = typ
	b.Error.Message = msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v) // plain structs of strings: cannot fail
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
