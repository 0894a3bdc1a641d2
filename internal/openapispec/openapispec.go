// Package openapispec loads ymchat's embedded openapi.yaml with kin-openapi and finds
// the operation a request is for. It serves the spec tests and the fake Market
// (chatclient/chattest); packages users import for production never depend on it.
package openapispec

import (
	"context"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ymchat/ymchat"
)

// Load parses and validates the embedded spec. Every call returns a fresh document
// the caller may change.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(ymchat.Spec)
	if err != nil {
		return nil, fmt.Errorf("openapispec: load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapispec: openapi.yaml is not valid: %w", err)
	}
	return doc, nil
}

// NewRouter loads the spec and returns a router that finds operations by method and
// path. With anyHost the Market's server URL is dropped so that requests to any host
// (a loopback test server, say) are matched.
func NewRouter(anyHost bool) (*openapi3.T, routers.Router, error) {
	doc, err := Load()
	if err != nil {
		return nil, nil, err
	}
	if anyHost {
		doc.Servers = nil
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("openapispec: router: %w", err)
	}
	return doc, r, nil
}

// AnyHostRouter is NewRouter(true), built once: loading and validating the spec costs
// about 5 ms and 30,000 allocations, and a router is only read after it is built, so
// every fake server and test shares one.
var AnyHostRouter = sync.OnceValues(func() (routers.Router, error) {
	_, r, err := NewRouter(true)
	return r, err
})
