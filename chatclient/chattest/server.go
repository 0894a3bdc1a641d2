package chattest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient/notify"
	"github.com/ymchat/ymchat/internal/openapispec"
)

// DefaultToken is the token a Server accepts unless [WithToken] says otherwise.
const DefaultToken = "chattest-token"

// DefaultParallelLimit is the Market's limit of parallel requests per business.
const DefaultParallelLimit = 4

// DefaultPageSize is how many chats a getChats page holds when the request gives no
// limit. The vendor documents give only the maximum, 20; the fake uses it as default.
const DefaultPageSize = 20

// Request is one request the fake Market received, for tests to assert what a client
// sent.
type Request struct {
	// Operation is the operationId of the operation the request was for ("createChat",
	// "getChatHistory", ...), or empty when it matched none (or was a file download).
	Operation string
	// BusinessID is the business in the path, 0 when it did not parse.
	BusinessID int64
	// Method and Path are the HTTP method and URL path.
	Method, Path string
	// Query holds the query parameters.
	Query url.Values
	// Body is the request body.
	Body []byte
	// Header holds the request's headers as they arrived (credentials included: the
	// fake's own token).
	Header http.Header
	// AuthScheme is "Api-Key", "Bearer", or "" when the request carried no credentials.
	AuthScheme string
	// Status is the status of the answer; 0 when the connection was dropped.
	Status int
	// At is when the request arrived.
	At time.Time
}

// Server is an in-memory fake of the Market's chat API, served over real HTTP on a
// loopback address. It implements the strict server interface generated from
// openapi.yaml and validates every request against the spec. It is safe for
// concurrent use.
type Server struct {
	// URL is the base URL to point a client at, e.g. with chatclient.WithBaseURL.
	URL string
	// Token is the token the server accepts, as an Api-Key header or an OAuth bearer.
	Token string

	srv      *httptest.Server
	store    *store
	fixtures [][]byte // loaded after the options, on the server's clock
	limits   *limiter
	faults   *faults
	notes    *notifier
	router   routers.Router
	handler  http.Handler
	now      func() time.Time
	pageSize int
	// fileName is the name a sent file is stored under; nil keeps the sender's.
	fileName func(string) string

	mu   sync.Mutex
	reqs []Request // a ring of at most maxReqs: the oldest at head once full
	// chatsPageHook is called as each getChats request arrives (OnChatsPage).
	chatsPageHook func(businessID int64)
	head          int
	maxReqs       int
}

// Option configures a [Server].
type Option func(*Server) error

// WithToken sets the token the server accepts.
func WithToken(token string) Option {
	return func(s *Server) error {
		if token == "" {
			return errors.New("chattest: token must not be empty")
		}
		s.Token = token
		return nil
	}
}

// WithDefaultFixture loads [DefaultFixture].
func WithDefaultFixture() Option { return WithFixture(defaultFixture) }

// WithFixture loads data in the JSON form of [Fixture]. A fixture with a "now" has its
// dates moved so that that moment is the server's now (see [WithClock]): the shipped
// fixture's chats have waited as long whenever it is loaded.
func WithFixture(data []byte) Option {
	return func(s *Server) error {
		s.fixtures = append(s.fixtures, data)
		return nil
	}
}

// WithChats adds chats to a business.
func WithChats(businessID int64, chats ...api.Chat) Option {
	return func(s *Server) error {
		for _, c := range chats {
			if err := s.AddChat(businessID, c); err != nil {
				return err
			}
		}
		return nil
	}
}

// WithOrders adds orders (to start chats about) to a business.
func WithOrders(businessID int64, orders ...Order) Option {
	return func(s *Server) error {
		for _, o := range orders {
			s.AddOrder(businessID, o)
		}
		return nil
	}
}

// WithParallelLimit sets how many requests of one business may be in flight before the
// next is answered 420 ("Hit rate limit of N parallel requests"); 0 turns the limit off.
// Default: [DefaultParallelLimit].
func WithParallelLimit(n int) Option {
	return func(s *Server) error {
		if n < 0 {
			return fmt.Errorf("chattest: parallel limit %d must not be negative", n)
		}
		s.limits.parallel = n
		return nil
	}
}

// WithQuota sets the quota of an operation (a key of [DocumentedQuotas], e.g.
// "getChats" or "sendMessageToChat");
// a zero Quota turns it off. Default: [DocumentedQuotas]. Tests use small windows,
// e.g. Quota{Limit: 50, Window: time.Second}.
func WithQuota(operation string, q Quota) Option {
	return func(s *Server) error {
		if _, ok := documentedQuotas[operation]; !ok {
			return fmt.Errorf("chattest: unknown operation %q", operation)
		}
		if q.Limit < 0 || q.Window < 0 {
			return fmt.Errorf("chattest: quota of %s must not be negative", operation)
		}
		s.limits.quotas[operation] = q
		return nil
	}
}

// WithFaultRate makes a fraction rate (0 to 1) of requests fail with a fault drawn from
// pool, reproducibly for a given seed.
func WithFaultRate(rate float64, seed uint64, pool ...Fault) Option {
	return func(s *Server) error { return s.faults.setRate(rate, seed, pool...) }
}

// DefaultRequestLog is how many of the most recent requests a Server keeps for
// [Server.Requests] unless [WithRequestLog] says otherwise.
const DefaultRequestLog = 100_000

// WithRequestLog keeps only the n most recent requests for [Server.Requests]; 0 keeps
// none (for long runs and benchmarks). Default: [DefaultRequestLog].
func WithRequestLog(n int) Option {
	return func(s *Server) error {
		if n < 0 {
			return fmt.Errorf("chattest: request log size %d must not be negative", n)
		}
		s.maxReqs = n
		return nil
	}
}

// WithClock replaces the system clock (for chats' timestamps and quota windows).
func WithClock(now func() time.Time) Option {
	return func(s *Server) error {
		if now == nil {
			return errors.New("chattest: clock must not be nil")
		}
		s.now = now
		return nil
	}
}

// WithFileNames stores each file sent to a chat under rename(name) rather than the name
// it was sent with, as the Market may do (normalised case or spaces): code that looks
// for a file it sent in the history must not rely on the name it gave.
func WithFileNames(rename func(name string) string) Option {
	return func(s *Server) error {
		if rename == nil {
			return errors.New("chattest: rename must not be nil")
		}
		s.fileName = rename
		return nil
	}
}

// NewServer starts a fake Market on a loopback port. Close it when done (or use
// [Start], which closes it when the test ends). Like httptest.NewServer, it panics if
// it cannot start, or if an option is invalid.
func NewServer(opts ...Option) *Server {
	s, err := newServer(opts...)
	if err != nil {
		panic(err)
	}
	if err := s.start(); err != nil {
		panic(err)
	}
	return s
}

// start serves s on a loopback port and registers the receivers the options named.
func (s *Server) start() error {
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	for _, url := range s.notes.pending {
		if err := s.RegisterReceiver(url); err != nil {
			s.Close()
			return err
		}
	}
	return nil
}

func newServer(opts ...Option) (*Server, error) {
	router, err := openapispec.AnyHostRouter()
	if err != nil {
		return nil, err
	}
	quotas := map[string]Quota{}
	for k, v := range documentedQuotas {
		quotas[k] = v
	}
	s := &Server{
		Token:    DefaultToken,
		store:    newStore(),
		limits:   &limiter{parallel: DefaultParallelLimit, inflight: map[int64]int{}, quotas: quotas, counters: map[counterKey]*counter{}},
		faults:   &faults{queued: map[string][]Fault{}},
		notes:    newNotifier(),
		router:   router,
		now:      time.Now,
		pageSize: DefaultPageSize,
		maxReqs:  DefaultRequestLog,
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	for _, data := range s.fixtures {
		if err := s.store.load(data, s.now()); err != nil {
			return nil, err
		}
	}
	strict := api.NewStrictHandlerWithOptions(market{s}, nil, api.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		},
	})
	s.handler = api.HandlerWithOptions(strict, api.StdHTTPServerOptions{
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		},
	})
	return s, nil
}

// Close stops the notification deliveries (retries included) and shuts the server
// down, waiting for requests in flight.
func (s *Server) Close() {
	s.notes.close()
	s.srv.Close()
}

// Requests returns the requests received so far (the most recent ones, see
// [WithRequestLog]), oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, 0, len(s.reqs))
	out = append(out, s.reqs[s.head:]...)
	return append(out, s.reqs[:s.head]...)
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs, s.head = nil, 0
}

// Script makes the next len(faults) requests of operation (its operationId, e.g.
// "getChat" or "sendMessageToChat", or "" for any) misbehave as given, one fault
// each, in order.
func (s *Server) Script(operation string, faults ...Fault) { s.faults.script(operation, faults...) }

// AddChat adds a chat to a business; its id must be new.
func (s *Server) AddChat(businessID int64, c api.Chat) error {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.addChatLocked(businessID, c)
}

// AddOrder adds an order that chats can be started about.
func (s *Server) AddOrder(businessID int64, o Order) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.business(businessID).orders[o.OrderID] = o
}

// AddReturn adds a return that chats can be started about.
func (s *Server) AddReturn(businessID int64, r Return) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.business(businessID).returns[r.ReturnID] = r
}

// InFlight returns how many requests of the business are being served now.
func (s *Server) InFlight(businessID int64) int {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	return s.limits.inflight[businessID]
}

// Chat returns a chat as the server holds it.
func (s *Server) Chat(businessID, chatID int64) (api.Chat, bool) {
	return s.store.get(businessID, chatID)
}

// ServeHTTP answers one request the way the Market would: route, auth, parallel limit,
// faults, quota, validation against openapi.yaml, then the operation itself.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := int64(maxBody)
	if strings.HasSuffix(r.URL.Path, "/chats/file/send") {
		limit = MaxFileSize + maxMultipartOverhead
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, limit+1))
	var bodyErr string
	if int64(len(body)) > limit {
		// Answer a clean 400 rather than validate a cut-off body; read some more of
		// what the client is still sending so that it gets to read the answer.
		_, _ = io.CopyN(io.Discard, r.Body, drainLimit)
		body = body[:limit]
		bodyErr = fmt.Sprintf("body: larger than %d bytes", limit)
		if limit > maxBody {
			bodyErr = fmt.Sprintf("body field file: the body is larger than %d bytes; a file may have at most %d bytes (5 MB, x-max-file-size)", limit, MaxFileSize)
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, At: s.now()}
	// The Market's clock is the fake's clock: a client measures quota resets against it.
	w.Header().Set("Date", rec.At.UTC().Format(http.TimeFormat))
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		rec.Status = sw.status
		s.mu.Lock()
		switch {
		case s.maxReqs <= 0:
		case len(s.reqs) < s.maxReqs:
			s.reqs = append(s.reqs, rec)
		default: // full: overwrite the oldest, O(1)
			s.reqs[s.head] = rec
			s.head = (s.head + 1) % s.maxReqs
		}
		s.mu.Unlock()
	}()

	if id, _, ok := parseFilePath(r.URL.Path); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.serveFile(sw, r, id)
		return
	}

	route, params, err := s.router.FindRoute(r)
	if err != nil {
		status := http.StatusNotFound
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			status = http.StatusMethodNotAllowed
		}
		writeError(sw, status, "NOT_FOUND", fmt.Sprintf("no method %s %s", r.Method, r.URL.Path))
		return
	}
	op := route.Operation.OperationID
	rec.Operation = op
	business, _ := strconv.ParseInt(params["businessId"], 10, 64)
	if business < 1 {
		business = 0
	}
	rec.BusinessID = business

	scheme, token := credentials(r.Header)
	rec.AuthScheme = scheme
	if token == "" || token != s.Token {
		s.reportQuota(sw, business, op)
		if token == "" {
			writeError(sw, http.StatusUnauthorized, "UNAUTHORIZED", "no credentials: send an Api-Key header or an OAuth bearer token")
		} else {
			writeError(sw, http.StatusForbidden, "FORBIDDEN", "the token is not valid for this business")
		}
		return
	}

	if business > 0 {
		if !s.limits.enter(business) {
			s.reportQuota(sw, business, op)
			writeError(sw, 420, "LIMIT_EXCEEDED", fmt.Sprintf("Hit rate limit of %d parallel requests", s.limits.parallel))
			return
		}
		defer s.limits.leave(business)
	}

	if f, ok := s.faults.next(op); ok {
		if !s.applyFault(sw, r, f, func(w http.ResponseWriter) { s.serveCounted(w, r, route, params, op, business, bodyErr) }) {
			return
		}
	}
	s.serveCounted(sw, r, route, params, op, business, bodyErr)
}

// reportQuota sets the rate-limit headers of an answer that does not count against the
// quota (a 401, 403 or parallel-limit 420).
func (s *Server) reportQuota(w http.ResponseWriter, business int64, op string) {
	if business < 1 {
		return
	}
	if st, known := s.limits.peek(business, op, s.now()); known {
		st.set(w.Header())
	}
}

// serveCounted counts the request against its quota, validates it and runs it.
func (s *Server) serveCounted(w http.ResponseWriter, r *http.Request, route *routers.Route, params map[string]string, op string, business int64, bodyErr string) {
	if business > 0 {
		st, ok, known := s.limits.take(business, op, s.now())
		if known {
			st.set(w.Header())
		}
		if !ok {
			q := s.limits.quotas[op]
			writeError(w, 420, "LIMIT_EXCEEDED", fmt.Sprintf("Hit rate limit of %d requests per %s for %s; resets at %s",
				q.Limit, q.Window, op, st.until.UTC().Format(http.TimeFormat)))
			return
		}
	}
	if bodyErr != "" {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", bodyErr)
		return
	}
	vr := r
	if op == "sendFileToChat" {
		vr = forValidation(r)
	}
	err := openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
		Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
	if err != nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", describe(err))
		return
	}
	s.handler.ServeHTTP(w, r)
}

// applyFault acts out f. It reports whether the request should go on to its real answer
// (a pure delay); otherwise the fault was the answer.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault, real func(http.ResponseWriter)) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			panic(http.ErrAbortHandler)
		}
	}
	switch {
	case f.Drop:
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	case f.DropAfter:
		real(httptest.NewRecorder()) // the Market acts; the answer is lost
		panic(http.ErrAbortHandler)
	case f.Truncate:
		rec := httptest.NewRecorder()
		real(rec)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		full := rec.Body.Bytes()
		w.Header().Set("Content-Length", strconv.Itoa(len(full)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(full[:len(full)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	case f.Status != 0:
		for k, v := range f.Header {
			w.Header()[k] = v
		}
		ctype, body := f.ContentType, f.Body
		if ctype == "" {
			ctype = "application/json"
		}
		if body == "" {
			body = errorBody("INJECTED_FAULT", http.StatusText(f.Status))
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, body)
		return false
	}
	return true
}

// credentials returns the auth scheme and token of a request.
func credentials(h http.Header) (scheme, token string) {
	if v := h.Get("Api-Key"); v != "" {
		return "Api-Key", v
	}
	if v, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer "); ok && v != "" {
		return "Bearer", v
	}
	return "", ""
}

// writeError answers with the Market's JSON error envelope.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, errorBody(code, message)+"\n")
}

// describe turns a kin-openapi validation error into one short line naming the
// parameter or body field and the rule it broke.
func describe(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return err.Error()
	}
	where := "request"
	switch {
	case re.Parameter != nil:
		where = fmt.Sprintf("%s parameter %s", re.Parameter.In, re.Parameter.Name)
	case re.RequestBody != nil:
		where = "body"
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		if p := se.JSONPointer(); len(p) > 0 {
			where += " field " + strings.Join(p, ".")
		}
		return where + ": " + se.Reason
	}
	reason := re.Reason
	if re.Err != nil {
		if reason != "" {
			reason += ": "
		}
		reason += re.Err.Error()
	}
	return where + ": " + reason
}

// statusWriter remembers the status of the answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first status written.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes through, for truncated answers.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// market implements the generated strict server interface over the store.
type market struct{ s *Server }

var _ api.StrictServerInterface = market{}

func badRequest(msg string) api.BadRequestJSONResponse {
	return api.BadRequestJSONResponse{Body: envelope("BAD_REQUEST", msg)}
}

func notFound(msg string) api.NotFoundJSONResponse {
	return api.NotFoundJSONResponse{Body: envelope("NOT_FOUND", msg)}
}

func envelope(code, msg string) api.ErrorEnvelope {
	status := api.ResponseStatusError
	return api.ErrorEnvelope{Status: &status, Errors: []api.APIError{{Code: code, Message: msg}}}
}

// CreateChat implements api.StrictServerInterface.
func (m market) CreateChat(_ context.Context, req api.CreateChatRequestObject) (api.CreateChatResponseObject, error) {
	about := api.ChatContext{}
	switch {
	case req.Body.Context != nil:
		about = *req.Body.Context
	case req.Body.OrderID != nil:
		about = api.ChatContext{Type: api.ChatContextIdentifiableTypeOrder, ID: *req.Body.OrderID}
	default:
		return api.CreateChat400JSONResponse{BadRequestJSONResponse: badRequest("body: give context (or the older orderId)")}, nil
	}
	id, created, err := m.s.store.create(req.BusinessID, about, m.s.now())
	var nf errNotFound
	if errors.As(err, &nf) {
		return api.CreateChat404JSONResponse{NotFoundJSONResponse: notFound(nf.msg)}, nil
	}
	if err != nil {
		return nil, err
	}
	if created {
		c, _ := m.s.store.get(req.BusinessID, id)
		m.s.notes.publish(notify.ChatCreated{ChatID: id, BusinessID: req.BusinessID, CreatedAt: c.CreatedAt})
	}
	return api.CreateChat200JSONResponse{Body: api.CreateChatEnvelope{Status: api.ResponseStatusOK, Result: api.CreateChatResult{ChatID: id}}}, nil
}

// GetChat implements api.StrictServerInterface.
func (m market) GetChat(_ context.Context, req api.GetChatRequestObject) (api.GetChatResponseObject, error) {
	c, ok := m.s.store.get(req.BusinessID, req.Params.ChatID)
	if !ok {
		return api.GetChat404JSONResponse{NotFoundJSONResponse: notFound(fmt.Sprintf("chat %d not found in business %d", req.Params.ChatID, req.BusinessID))}, nil
	}
	return api.GetChat200JSONResponse{Body: api.GetChatEnvelope{Status: api.ResponseStatusOK, Result: c}}, nil
}

// GetChats implements api.StrictServerInterface.
func (m market) GetChats(_ context.Context, req api.GetChatsRequestObject) (api.GetChatsResponseObject, error) {
	filter := *req.Body
	limit := m.s.pageSize
	if req.Params.Limit != nil {
		limit = int(*req.Params.Limit)
	}
	var after int64
	if name, tok := pickToken(req.Params.PageToken, req.Params.PageTokenCamelCase); tok != "" {
		var ok bool
		after, ok = decodeToken(tok, req.BusinessID, filterKey(filter))
		if !ok {
			return api.GetChats400JSONResponse{BadRequestJSONResponse: badRequest("query parameter " + name + ": not a token this query handed out")}, nil
		}
	}
	m.s.chatsPage(req.BusinessID)
	chats, more := m.s.store.list(req.BusinessID, filter, after, limit)
	page := api.ChatsPage{Chats: chats}
	if more {
		next := chats[len(chats)-1].ChatID
		if m.s.store.order.order != ByID {
			next = after + int64(len(chats))
		}
		page.Paging = api.Pager{NextPageToken: encodeToken(req.BusinessID, filterKey(filter), next)}
	}
	return api.GetChats200JSONResponse{Body: api.GetChatsEnvelope{Status: api.ResponseStatusOK, Result: page}}, nil
}

// pickToken returns the page token of a request and the name of the parameter it came
// in: page_token wins over pageToken when both are given (and not empty).
func pickToken(snake, camel *string) (name, token string) {
	if snake != nil && *snake != "" {
		return "page_token", *snake
	}
	if camel != nil && *camel != "" {
		return "pageToken", *camel
	}
	return "", ""
}

// A page token is an opaque cursor: the business, what it pages through (the getChats
// filter, or the chat of a history), and the last id handed out. Chats and messages
// come in id order, so ones created while a caller pages appear on later pages, and
// none is skipped or repeated.
type pageToken struct {
	V        int    `json:"v"`
	Business int64  `json:"b"`
	After    int64  `json:"a"`
	Filter   string `json:"f"`
}

var base64URL = base64.RawURLEncoding

func filterKey(f api.GetChatsRequest) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func encodeToken(business int64, key string, after int64) string {
	b, _ := json.Marshal(pageToken{V: 1, Business: business, After: after, Filter: key})
	return base64URL.EncodeToString(b)
}

func decodeToken(tok string, business int64, key string) (int64, bool) {
	raw, err := base64URL.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	var t pageToken
	if json.Unmarshal(raw, &t) != nil || t.V != 1 || t.Business != business || t.Filter != key || t.After < 0 {
		return 0, false
	}
	return t.After, true
}

const (
	// maxBody bounds the JSON bodies of requests; a larger one is answered 400.
	maxBody = 1 << 20
	// maxMultipartOverhead is how much a sendFileToChat body may hold besides the
	// file: boundaries, part headers, other parts.
	maxMultipartOverhead = 64 << 10
	// drainLimit is how much of an oversized body is read and thrown away before the
	// 400, so that a client still writing it gets to read the answer.
	drainLimit = 64 << 20
)

// forValidation returns the request with its multipart body rewritten for kin-openapi:
// a file part's own Content-Type (image/png, application/pdf, ...) has no body decoder
// there, so file parts are given application/octet-stream, which it reads as the
// string the spec's `format: binary` field is. Everything else (part names, missing or
// unknown parts) is kept, so the spec's rules still apply. A body that does not parse
// is left as it is, for the validator to reject.
func forValidation(r *http.Request) *http.Request {
	raw, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return r
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return r
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r
		}
		h := textproto.MIMEHeader{}
		for k, v := range part.Header {
			h[k] = v
		}
		if part.FileName() != "" {
			h.Set("Content-Type", "application/octet-stream")
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			return r
		}
		if _, err := io.Copy(pw, part); err != nil {
			return r
		}
	}
	if mw.Close() != nil {
		return r
	}
	vr := r.Clone(r.Context())
	vr.Header.Set("Content-Type", mw.FormDataContentType())
	vr.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	vr.ContentLength = int64(buf.Len())
	return vr
}

// serveFile answers a download of a file on the fake's own server (a message
// payload's URL): the bytes, with the file's Content-Type. Like the Market's download
// links it needs no credentials.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, id string) {
	f, ok := s.store.file(id)
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no file %s", id))
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.name}))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}
