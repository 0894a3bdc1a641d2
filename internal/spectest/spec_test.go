package spectest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/internal/openapispec"
)

var allStatuses = []string{"200", "400", "401", "403", "404", "420", "500"}

var rateLimitHeaders = []string{"X-RateLimit-Resource-Limit", "X-RateLimit-Resource-Remaining", "X-RateLimit-Resource-Until"}

type operationFacts struct {
	id, method, path string
	hourlyLimit      float64
	scopes           []string
	// bodyType is the media type of the request body, "" when there is none.
	bodyType string
	// query is what a response fixture's request carries: the required query parameters.
	query string
}

var (
	writeScopes = []string{"communication", "all-methods"}
	readScopes  = []string{"communication", "all-methods", "all-methods:read-only"}
)

var operations = []operationFacts{
	{"createChat", http.MethodPost, "/v2/businesses/{businessId}/chats/new", 1000, writeScopes, "application/json", ""},
	{"getChat", http.MethodGet, "/v2/businesses/{businessId}/chat", 1000, readScopes, "", "chatId=1"},
	{"getChats", http.MethodPost, "/v2/businesses/{businessId}/chats", 10000, readScopes, "application/json", ""},
	{"getChatHistory", http.MethodPost, "/v2/businesses/{businessId}/chats/history", 10000, readScopes, "application/json", "chatId=1"},
	{"getChatMessage", http.MethodGet, "/v2/businesses/{businessId}/chats/message", 1000, readScopes, "", "chatId=1&messageId=1"},
	{"sendMessageToChat", http.MethodPost, "/v2/businesses/{businessId}/chats/message", 1000, writeScopes, "application/json", "chatId=1"},
	{"sendFileToChat", http.MethodPost, "/v2/businesses/{businessId}/chats/file/send", 1000, writeScopes, "multipart/form-data", "chatId=1"},
}

func load(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, router, err := openapispec.NewRouter(false)
	require.NoError(t, err)
	return doc, router
}

func TestOperationsStatusesAndHeaders(t *testing.T) {
	doc, _ := load(t)
	paths := map[string]bool{}
	for _, op := range operations {
		paths[op.path] = true
	}
	require.Len(t, doc.Paths.Map(), len(paths), "the spec describes exactly the chat operations")
	n := 0
	for _, item := range doc.Paths.Map() {
		n += len(item.Operations())
	}
	require.Equal(t, len(operations), n, "the spec describes exactly the seven chat operations")
	for _, want := range operations {
		t.Run(want.id, func(t *testing.T) {
			item := doc.Paths.Find(want.path)
			require.NotNil(t, item, "path %s", want.path)
			op := item.GetOperation(want.method)
			require.NotNil(t, op, "%s %s", want.method, want.path)
			assert.Equal(t, want.id, op.OperationID)

			var got []string
			for code := range op.Responses.Map() {
				got = append(got, code)
			}
			sort.Strings(got)
			assert.Equal(t, allStatuses, got, "every operation answers 200, 400, 401, 403, 404, 420 and 500")
			for _, code := range allStatuses {
				resp := op.Responses.Status(atoi(t, code))
				require.NotNil(t, resp, code)
				for _, h := range rateLimitHeaders {
					assert.Contains(t, resp.Value.Headers, h, "%s response declares %s", code, h)
				}
				media := resp.Value.Content.Get("application/json")
				require.NotNil(t, media, "%s response is JSON", code)
				if code != "200" {
					assert.Equal(t, "#/components/schemas/ErrorEnvelope", media.Schema.Ref, "%s uses the shared error envelope", code)
					assert.NotEmpty(t, op.Responses.Value(code).Ref, "%s is a shared components/responses entry", code)
				}
			}

			limit, ok := op.Extensions["x-rate-limit"].(map[string]any)
			require.True(t, ok, "x-rate-limit recorded")
			assert.Equal(t, want.hourlyLimit, limit["requests"])
			assert.Equal(t, "hour", limit["per"])
			assert.Contains(t, op.Description, formatThousands(int(want.hourlyLimit))+" requests per hour")

			scopes, ok := op.Extensions["x-token-scopes"].([]any)
			require.True(t, ok, "x-token-scopes recorded")
			var gotScopes []string
			for _, sc := range scopes {
				gotScopes = append(gotScopes, sc.(string))
				assert.Contains(t, op.Description, "`"+sc.(string)+"`", "the description names scope %s", sc)
			}
			assert.Equal(t, want.scopes, gotScopes)

			if want.bodyType == "" {
				assert.Nil(t, op.RequestBody, "%s takes no body", want.id)
			} else {
				require.NotNil(t, op.RequestBody)
				assert.True(t, op.RequestBody.Value.Required, "%s needs a body", want.id)
				var types []string
				for mt := range op.RequestBody.Value.Content {
					types = append(types, mt)
				}
				assert.Equal(t, []string{want.bodyType}, types)
			}
		})
	}
}

func TestSecurityAndServer(t *testing.T) {
	doc, _ := load(t)
	require.Len(t, doc.Servers, 1)
	assert.Equal(t, "https://api.partner.market.yandex.ru", doc.Servers[0].URL)

	apiKey := doc.Components.SecuritySchemes["ApiKey"]
	require.NotNil(t, apiKey)
	assert.Equal(t, "apiKey", apiKey.Value.Type)
	assert.Equal(t, "header", apiKey.Value.In)
	assert.Equal(t, "Api-Key", apiKey.Value.Name)

	oauth := doc.Components.SecuritySchemes["OAuth"]
	require.NotNil(t, oauth)
	assert.Equal(t, "http", oauth.Value.Type)
	assert.Equal(t, "bearer", oauth.Value.Scheme)

	var schemes []string
	for _, req := range doc.Security {
		for name := range req {
			schemes = append(schemes, name)
		}
	}
	assert.ElementsMatch(t, []string{"ApiKey", "OAuth"}, schemes, "either scheme authorizes a request")
}

// TestDocumentedFacts pins every enum, constraint and format the vendor documents give,
// so that deleting one from openapi.yaml fails here.
func TestDocumentedFacts(t *testing.T) {
	doc, _ := load(t)
	s := func(name string) *openapi3.Schema {
		ref := doc.Components.Schemas[name]
		require.NotNil(t, ref, "schema %s", name)
		return ref.Value
	}
	prop := func(schema, name string) *openapi3.Schema {
		p := s(schema).Properties[name]
		require.NotNil(t, p, "%s.%s", schema, name)
		return p.Value
	}
	enum := func(name string) []string {
		var out []string
		for _, v := range s(name).Enum {
			out = append(out, v.(string))
		}
		return out
	}
	assert.Equal(t, []string{"OK", "ERROR"}, enum("ResponseStatus"))
	assert.Equal(t, []string{"ORDER", "RETURN", "DIRECT"}, enum("ChatContextType"))
	assert.Equal(t, []string{"ORDER", "RETURN"}, enum("ChatContextIdentifiableType"))
	assert.Equal(t, []string{"NEW", "WAITING_FOR_CUSTOMER", "WAITING_FOR_PARTNER", "WAITING_FOR_ARBITER", "WAITING_FOR_MARKET", "FINISHED"}, enum("ChatStatus"))
	assert.Equal(t, []string{"CHAT", "ARBITRAGE"}, enum("ChatType"))

	// Required fields.
	assert.ElementsMatch(t, []string{"chatId", "context", "type", "status", "createdAt", "updatedAt"}, s("Chat").Required)
	assert.ElementsMatch(t, []string{"type"}, s("ChatFullContext").Required)
	assert.ElementsMatch(t, []string{"type", "id"}, s("ChatContext").Required)
	assert.ElementsMatch(t, []string{"code"}, s("ApiError").Required)
	assert.ElementsMatch(t, []string{"chats"}, s("ChatsPage").Required)
	assert.ElementsMatch(t, []string{"chatId"}, s("CreateChatResult").Required)
	for _, env := range []string{"CreateChatEnvelope", "GetChatEnvelope", "GetChatsEnvelope"} {
		assert.ElementsMatch(t, []string{"status"}, s(env).Required, env)
	}

	// Ids: int64, minimum 1.
	ids := [][2]string{
		{"Chat", "chatId"}, {"Chat", "orderId"}, {"ChatContext", "id"}, {"CreateChatResult", "chatId"},
		{"ChatFullContext", "campaignId"}, {"ChatFullContext", "orderId"}, {"ChatFullContext", "returnId"},
	}
	for _, id := range ids {
		p := prop(id[0], id[1])
		assert.Equal(t, "int64", p.Format, "%s.%s format", id[0], id[1])
		require.NotNil(t, p.Min, "%s.%s minimum", id[0], id[1])
		assert.Equal(t, 1.0, *p.Min, "%s.%s minimum", id[0], id[1])
	}
	assert.Equal(t, "int64", prop("CreateChatRequest", "orderId").Format)
	assert.Equal(t, "date-time", prop("Chat", "createdAt").Format)
	assert.Equal(t, "date-time", prop("Chat", "updatedAt").Format)
	assert.Equal(t, uint64(1), prop("ChatCustomer", "name").MinLength)
	assert.Equal(t, uint64(1), prop("ChatCustomer", "publicId").MinLength)
	assert.Equal(t, uint64(1), prop("ErrorEnvelope", "errors").MinItems)

	// Filters: at least one value, no value twice, null accepted (as the Market's spec
	// marks every one of them).
	for _, f := range []string{"orderIds", "contexts", "contextTypes", "types", "statuses"} {
		p := prop("GetChatsRequest", f)
		assert.Equal(t, uint64(1), p.MinItems, "%s minItems", f)
		assert.True(t, p.UniqueItems, "%s uniqueItems", f)
		assert.True(t, p.Nullable, "%s nullable", f)
	}
	assert.True(t, prop("ErrorEnvelope", "errors").Nullable, "the Market may send errors: null")
	assert.Equal(t, "int64", prop("GetChatsRequest", "orderIds").Items.Value.Format)

	// Deprecated where the documents mark it so.
	assert.True(t, prop("GetChatsRequest", "orderIds").Deprecated)
	assert.True(t, prop("Chat", "orderId").Deprecated)

	// Parameters.
	business := doc.Components.Parameters["BusinessId"].Value
	assert.Equal(t, "path", business.In)
	assert.True(t, business.Required)
	assert.Equal(t, "int64", business.Schema.Value.Format)
	assert.Equal(t, 1.0, *business.Schema.Value.Min)

	getChat := doc.Paths.Find("/v2/businesses/{businessId}/chat").Get
	chatID := getChat.Parameters.GetByInAndName("query", "chatId")
	require.NotNil(t, chatID)
	assert.True(t, chatID.Required)
	assert.Equal(t, "int64", chatID.Schema.Value.Format)
	assert.Equal(t, 1.0, *chatID.Schema.Value.Min)

	getChats := doc.Paths.Find("/v2/businesses/{businessId}/chats").Post
	limit := getChats.Parameters.GetByInAndName("query", "limit")
	require.NotNil(t, limit)
	assert.False(t, limit.Required)
	assert.Equal(t, "int32", limit.Schema.Value.Format)
	assert.Equal(t, 1.0, *limit.Schema.Value.Min)
	require.NotNil(t, limit.Schema.Value.Max)
	assert.Equal(t, 20.0, *limit.Schema.Value.Max)
	token := getChats.Parameters.GetByInAndName("query", "page_token")
	require.NotNil(t, token)
	assert.Equal(t, "string", token.Schema.Value.Type.Slice()[0])
	assertPageTokenAlias(t, getChats)

	for _, op := range []*openapi3.Operation{getChats, doc.Paths.Find("/v2/businesses/{businessId}/chats/new").Post} {
		require.NotNil(t, op.RequestBody)
		assert.True(t, op.RequestBody.Value.Required, "%s needs a JSON body", op.OperationID)
	}
}

// TestMessageOperationFacts pins what the Market's official spec gives for the message
// operations (getChatHistory, getChatMessage, sendMessageToChat, sendFileToChat).
func TestMessageOperationFacts(t *testing.T) {
	doc, _ := load(t)
	s := func(name string) *openapi3.Schema {
		ref := doc.Components.Schemas[name]
		require.NotNil(t, ref, "schema %s", name)
		return ref.Value
	}
	prop := func(schema, name string) *openapi3.Schema {
		p := s(schema).Properties[name]
		require.NotNil(t, p, "%s.%s", schema, name)
		return p.Value
	}

	var senders []string
	for _, v := range s("ChatMessageSender").Enum {
		senders = append(senders, v.(string))
	}
	assert.Equal(t, []string{"PARTNER", "CUSTOMER", "MARKET", "SUPPORT"}, senders)

	// Required fields.
	assert.ElementsMatch(t, []string{"messageId", "createdAt", "sender"}, s("ChatMessage").Required)
	assert.ElementsMatch(t, []string{"name", "url", "size"}, s("ChatMessagePayload").Required)
	assert.ElementsMatch(t, []string{"context", "messages"}, s("ChatHistory").Required)
	assert.ElementsMatch(t, []string{"message"}, s("SendMessageToChatRequest").Required)
	assert.ElementsMatch(t, []string{"file"}, s("SendFileToChatRequest").Required)
	assert.Empty(t, s("GetChatHistoryRequest").Required, "messageIdFrom is optional")
	for _, env := range []string{"GetChatHistoryEnvelope", "GetChatMessageEnvelope", "EmptyEnvelope"} {
		assert.ElementsMatch(t, []string{"status"}, s(env).Required, env)
	}
	assert.Equal(t, "#/components/schemas/ChatMessage", s("GetChatMessageEnvelope").Properties["result"].Ref)
	assert.Equal(t, "#/components/schemas/ChatHistory", s("GetChatHistoryEnvelope").Properties["result"].Ref)
	assert.Equal(t, "#/components/schemas/ChatFullContext", s("ChatHistory").Properties["context"].Ref)
	assert.Equal(t, "#/components/schemas/Pager", s("ChatHistory").Properties["paging"].Ref)
	assert.Equal(t, "#/components/schemas/ChatMessage", prop("ChatHistory", "messages").Items.Ref)
	assert.Equal(t, "#/components/schemas/ChatMessageSender", s("ChatMessage").Properties["sender"].Ref)

	// Ids and formats.
	for _, id := range [][2]string{{"ChatMessage", "messageId"}, {"GetChatHistoryRequest", "messageIdFrom"}} {
		p := prop(id[0], id[1])
		assert.Equal(t, "int64", p.Format, "%s.%s format", id[0], id[1])
		require.NotNil(t, p.Min, "%s.%s minimum", id[0], id[1])
		assert.Equal(t, 1.0, *p.Min, "%s.%s minimum", id[0], id[1])
	}
	orderID := prop("ChatHistory", "orderId")
	assert.Equal(t, "int64", orderID.Format)
	assert.True(t, orderID.Deprecated)
	assert.Nil(t, orderID.Min, "the official spec gives the history's orderId no minimum")
	assert.Equal(t, "date-time", prop("ChatMessage", "createdAt").Format)
	assert.Equal(t, "int32", prop("ChatMessagePayload", "size").Format)
	url := prop("ChatMessagePayload", "url")
	assert.Equal(t, uint64(1), url.MinLength)
	require.NotNil(t, url.MaxLength)
	assert.Equal(t, uint64(2000), *url.MaxLength)
	payload := prop("ChatMessage", "payload")
	assert.True(t, payload.Nullable, "payload may be null")
	assert.Equal(t, uint64(1), payload.MinItems)
	assert.Equal(t, "#/components/schemas/ChatMessagePayload", payload.Items.Ref)
	assert.Equal(t, "string", prop("ChatMessage", "message").Type.Slice()[0])

	// The text of a message: 1 to 4,096 characters.
	text := prop("SendMessageToChatRequest", "message")
	assert.Equal(t, uint64(1), text.MinLength)
	require.NotNil(t, text.MaxLength)
	assert.Equal(t, uint64(4096), *text.MaxLength)

	// The file: one binary part named file, at most 5 MB.
	sendFile := doc.Paths.Find("/v2/businesses/{businessId}/chats/file/send").Post
	media := sendFile.RequestBody.Value.Content.Get("multipart/form-data")
	require.NotNil(t, media)
	assert.Equal(t, "#/components/schemas/SendFileToChatRequest", media.Schema.Ref)
	assert.Equal(t, []string{"file"}, slices.Sorted(maps.Keys(s("SendFileToChatRequest").Properties)), "one part, named file")
	file := prop("SendFileToChatRequest", "file")
	assert.Equal(t, "string", file.Type.Slice()[0])
	assert.Equal(t, "binary", file.Format)
	assert.Equal(t, 5242880.0, file.Extensions["x-max-file-size"], "5 MB, recorded in bytes")
	assert.Contains(t, file.Description, "5 MB")
	assert.Contains(t, sendFile.Description, "5 MB")

	// Parameters: chatId on every message operation, messageId on getChatMessage.
	for _, op := range []struct{ method, path string }{
		{http.MethodPost, "/v2/businesses/{businessId}/chats/history"},
		{http.MethodGet, "/v2/businesses/{businessId}/chats/message"},
		{http.MethodPost, "/v2/businesses/{businessId}/chats/message"},
		{http.MethodPost, "/v2/businesses/{businessId}/chats/file/send"},
	} {
		o := doc.Paths.Find(op.path).GetOperation(op.method)
		require.NotNil(t, o)
		require.NotNil(t, o.Parameters.GetByInAndName("path", "businessId"), o.OperationID)
		chatID := o.Parameters.GetByInAndName("query", "chatId")
		require.NotNil(t, chatID, "%s takes chatId", o.OperationID)
		assert.True(t, chatID.Required)
		assert.Equal(t, "int64", chatID.Schema.Value.Format)
		require.NotNil(t, chatID.Schema.Value.Min)
		assert.Equal(t, 1.0, *chatID.Schema.Value.Min)
	}
	getMessage := doc.Paths.Find("/v2/businesses/{businessId}/chats/message").Get
	messageID := getMessage.Parameters.GetByInAndName("query", "messageId")
	require.NotNil(t, messageID)
	assert.True(t, messageID.Required)
	assert.Equal(t, "int64", messageID.Schema.Value.Format)
	require.NotNil(t, messageID.Schema.Value.Min)
	assert.Equal(t, 1.0, *messageID.Schema.Value.Min)
	assert.Len(t, getMessage.Parameters, 3)

	history := doc.Paths.Find("/v2/businesses/{businessId}/chats/history").Post
	limit := history.Parameters.GetByInAndName("query", "limit")
	require.NotNil(t, limit)
	assert.False(t, limit.Required)
	assert.Equal(t, "int32", limit.Schema.Value.Format)
	require.NotNil(t, limit.Schema.Value.Min)
	assert.Equal(t, 1.0, *limit.Schema.Value.Min)
	require.NotNil(t, limit.Schema.Value.Max)
	assert.Equal(t, 100.0, *limit.Schema.Value.Max)
	assert.Equal(t, 50.0, limit.Schema.Value.Default, "the Market's default page size")
	assertPageTokenAlias(t, history)
}

// assertPageTokenAlias checks that op takes the page token under both spellings the
// Market accepts: page_token (the documents) and pageToken (its newer spec), and says
// which one wins.
func assertPageTokenAlias(t *testing.T, op *openapi3.Operation) {
	t.Helper()
	for _, name := range []string{"page_token", "pageToken"} {
		p := op.Parameters.GetByInAndName("query", name)
		require.NotNil(t, p, "%s takes %s", op.OperationID, name)
		assert.False(t, p.Required, "%s %s optional", op.OperationID, name)
		assert.Equal(t, "string", p.Schema.Value.Type.Slice()[0], "%s %s", op.OperationID, name)
	}
	alias := op.Parameters.GetByInAndName("query", "pageToken")
	assert.Contains(t, alias.Description, "`page_token` wins", "the precedence is documented")
	assert.Equal(t, "PageTokenCamelCase", alias.Extensions["x-go-name"])
}

// TestEverySchemaHasAValidExample keeps the examples in openapi.yaml honest.
func TestEverySchemaHasAValidExample(t *testing.T) {
	doc, _ := load(t)
	for name, ref := range doc.Components.Schemas {
		t.Run(name, func(t *testing.T) {
			require.NotNil(t, ref.Value.Example, "schema %s has an example", name)
			assert.NoError(t, ref.Value.VisitJSON(roundTrip(t, ref.Value.Example)))
		})
	}
}

// fixtureCase is one entry of testdata/vendor/cases.json or testdata/invalid/cases.json.
type fixtureCase struct {
	Name          string `json:"name"`
	Source        string `json:"source"`
	Operation     string `json:"operation"`
	Kind          string `json:"kind"` // request, response, schema or model
	Statuses      []int  `json:"statuses"`
	Business      string `json:"business"`
	Query         string `json:"query"`
	File          string `json:"file"`
	Schema        string `json:"schema"`
	Field         string `json:"field"`
	Each          bool   `json:"each"`
	Model         string `json:"model"` // kind model: the generated type to decode into
	Part          string `json:"part"`  // multipart requests: the form part the file goes in
	Valid         bool   `json:"valid"`
	Why           string `json:"why"`
	ErrorContains string `json:"errorContains"`
}

func TestVendorExamples(t *testing.T) {
	cases := runFixtures(t, "vendor")
	// Every example body in the vendor documents is a fixture.
	assert.GreaterOrEqual(t, cases, 36)
}

func TestInvalidFixturesAreRejected(t *testing.T) {
	runFixtures(t, "invalid")
}

func runFixtures(t *testing.T, dir string) int {
	t.Helper()
	doc, router := load(t)
	base := filepath.Join("..", "..", "testdata", dir)
	raw, err := os.ReadFile(filepath.Join(base, "cases.json"))
	require.NoError(t, err)
	var cases []fixtureCase
	require.NoError(t, json.Unmarshal(raw, &cases))
	n := 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var body []byte
			if c.File != "" {
				body, err = os.ReadFile(filepath.Join(base, c.File))
				require.NoError(t, err)
			}
			var errs []error
			switch c.Kind {
			case "request":
				errs = append(errs, validateRequest(t, router, c, body))
			case "response":
				require.NotEmpty(t, c.Statuses)
				for _, status := range c.Statuses {
					errs = append(errs, validateResponse(t, router, c, status, body))
				}
			case "schema":
				errs = append(errs, validateSchema(t, doc, c, body)...)
			case "model":
				errs = append(errs, decodeModel(t, c, body))
			default:
				t.Fatalf("unknown kind %q", c.Kind)
			}
			for _, err := range errs {
				if c.Valid {
					assert.NoError(t, err)
					continue
				}
				require.Error(t, err, "fixture must be rejected: %s", c.Why)
				assert.Contains(t, err.Error(), c.ErrorContains)
			}
			n++
		})
	}
	return n
}

func operation(t *testing.T, id string) operationFacts {
	t.Helper()
	for _, op := range operations {
		if op.id == id {
			return op
		}
	}
	t.Fatalf("unknown operation %q", id)
	return operationFacts{}
}

func newRequest(t *testing.T, c fixtureCase, body []byte) *http.Request {
	t.Helper()
	op := operation(t, c.Operation)
	business := c.Business
	if business == "" {
		business = "100"
	}
	url := "https://api.partner.market.yandex.ru" + strings.Replace(op.path, "{businessId}", business, 1)
	if c.Query != "" {
		url += "?" + c.Query
	} else if c.Kind == "response" && op.query != "" {
		url += "?" + op.query
	}
	var r io.Reader = http.NoBody
	contentType := "application/json"
	if body != nil && op.bodyType == "multipart/form-data" {
		// The fixture file is the file sent, in the form part the case names.
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		part, err := w.CreateFormFile(c.Part, filepath.Base(c.File))
		require.NoError(t, err)
		_, err = part.Write(body)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		body, contentType = buf.Bytes(), w.FormDataContentType()
	}
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(op.method, url, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Api-Key", "fixture-token")
	return req
}

func validateRequest(t *testing.T, router routers.Router, c fixtureCase, body []byte) error {
	t.Helper()
	req := newRequest(t, c, body)
	route, params, err := router.FindRoute(req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
}

func validateResponse(t *testing.T, router routers.Router, c fixtureCase, status int, body []byte) error {
	t.Helper()
	req := newRequest(t, c, nil)
	route, params, err := router.FindRoute(req)
	require.NoError(t, err)
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	header.Set("X-RateLimit-Resource-Limit", "1000")
	header.Set("X-RateLimit-Resource-Remaining", "999")
	header.Set("X-RateLimit-Resource-Until", "Thu, 10 Jul 2018 00:42:42 GMT")
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}

func validateSchema(t *testing.T, doc *openapi3.T, c fixtureCase, body []byte) []error {
	t.Helper()
	ref := doc.Components.Schemas[c.Schema]
	require.NotNil(t, ref, "schema %s", c.Schema)
	var value any
	require.NoError(t, json.Unmarshal(body, &value))
	if c.Field != "" {
		obj, ok := value.(map[string]any)
		require.True(t, ok)
		value = obj[c.Field]
	}
	values := []any{value}
	if c.Each {
		list, ok := value.([]any)
		require.True(t, ok)
		values = list
	}
	var errs []error
	for _, v := range values {
		errs = append(errs, ref.Value.VisitJSON(v))
	}
	return errs
}

// TestAPIPackageKeepsToolsOutOfUsersBuilds checks that importing the packages users
// build with does not pull kin-openapi or the generator into their binaries.
func TestAPIPackageKeepsToolsOutOfUsersBuilds(t *testing.T) {
	pkgs := []string{"github.com/ymchat/ymchat", "github.com/ymchat/ymchat/api"}
	if _, err := os.Stat(filepath.Join("..", "..", "chatclient")); err == nil {
		pkgs = append(pkgs, "github.com/ymchat/ymchat/chatclient")
	}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	require.NoError(t, err, string(out))
	deps := strings.Fields(string(out))
	for _, d := range deps {
		assert.False(t, strings.HasPrefix(d, "github.com/getkin/"), "kin-openapi in users' build: %s", d)
		assert.False(t, strings.HasPrefix(d, "github.com/oapi-codegen/oapi-codegen"), "generator in users' build: %s", d)
		assert.False(t, strings.HasPrefix(d, "github.com/stretchr/"), "testify in users' build: %s", d)
		assert.False(t, strings.HasPrefix(d, "github.com/spf13/"), "the CLI's cobra in users' build: %s", d)
	}
	assert.True(t, slices.Contains(deps, "github.com/oapi-codegen/runtime"), "the generated client needs only the runtime")
}

func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// formatThousands writes n the way the vendor documents do: 10000 as "10,000".
func formatThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// The module's go line stays at 1.25.0: users on Go 1.25 must be able to build it,
// and `go get` of a newer dependency can silently raise it.
func TestGoLineDoesNotDrift(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	require.NoError(t, err)
	assert.Contains(t, strings.Split(string(mod), "\n"), "go 1.25.0")
}
