package spectest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
}

var operations = []operationFacts{
	{"createChat", http.MethodPost, "/v2/businesses/{businessId}/chats/new", 1000},
	{"getChat", http.MethodGet, "/v2/businesses/{businessId}/chat", 1000},
	{"getChats", http.MethodPost, "/v2/businesses/{businessId}/chats", 10000},
}

func load(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, router, err := openapispec.NewRouter(false)
	require.NoError(t, err)
	return doc, router
}

func TestOperationsStatusesAndHeaders(t *testing.T) {
	doc, _ := load(t)
	require.Len(t, doc.Paths.Map(), len(operations), "the spec describes exactly the three chat operations")
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
	Kind          string `json:"kind"` // request, response or schema
	Statuses      []int  `json:"statuses"`
	Business      string `json:"business"`
	Query         string `json:"query"`
	File          string `json:"file"`
	Schema        string `json:"schema"`
	Field         string `json:"field"`
	Each          bool   `json:"each"`
	Valid         bool   `json:"valid"`
	Why           string `json:"why"`
	ErrorContains string `json:"errorContains"`
}

func TestVendorExamples(t *testing.T) {
	cases := runFixtures(t, "vendor")
	// Every example body in the vendor documents is a fixture.
	assert.GreaterOrEqual(t, cases, 19)
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

func operationPath(t *testing.T, id, business string) (string, string) {
	t.Helper()
	if business == "" {
		business = "100"
	}
	for _, op := range operations {
		if op.id == id {
			return op.method, "https://api.partner.market.yandex.ru" + strings.Replace(op.path, "{businessId}", business, 1)
		}
	}
	t.Fatalf("unknown operation %q", id)
	return "", ""
}

func newRequest(t *testing.T, c fixtureCase, body []byte) *http.Request {
	t.Helper()
	method, url := operationPath(t, c.Operation, c.Business)
	if c.Query != "" {
		url += "?" + c.Query
	} else if c.Operation == "getChat" && c.Kind == "response" {
		url += "?chatId=1"
	}
	var r io.Reader = http.NoBody
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
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
