package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/notify"
)

type spec struct {
	doc    *openapi3.T
	route  *routers.Route
	params map[string]string
}

// loadSpec parses and validates the embedded description once.
var loadSpec = sync.OnceValues(func() (*spec, error) {
	doc, err := openapi3.NewLoader().LoadFromData(notify.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequest(http.MethodPost, "/notification", nil)
	route, params, err := r.FindRoute(req)
	if err != nil {
		return nil, err
	}
	return &spec{doc: doc, route: route, params: params}, nil
})

func mustSpec(t testing.TB) *spec {
	t.Helper()
	s, err := loadSpec()
	require.NoError(t, err)
	return s
}

// validateRequest checks body against the description's request schema.
func (s *spec) validateRequest(body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, "/notification", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: s.params, Route: s.route,
	})
}

// validateResponse checks an answer to a POST against the description, status
// included; answers to other methods (405) are checked against the Error schema.
func (s *spec) validateResponse(t testing.TB, method string, status int, header http.Header, body []byte) {
	t.Helper()
	require.Equal(t, "application/json", header.Get("Content-Type"))
	if method != http.MethodPost {
		var v any
		require.NoError(t, json.Unmarshal(body, &v))
		require.NoError(t, s.doc.Components.Schemas["Error"].Value.VisitJSON(v), "body %s", body)
		return
	}
	req, _ := http.NewRequest(http.MethodPost, "/notification", strings.NewReader("{}"))
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: s.params, Route: s.route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	require.NoError(t, err, "answer %d %s does not match openapi.yaml", status, body)
}

func TestSpecLoads(t *testing.T) {
	mustSpec(t)
}
