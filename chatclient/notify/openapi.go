package notify

import _ "embed"

// OpenAPI is openapi.yaml: the hand-maintained OpenAPI 3.0.3 description of the
// endpoint a [Handler] implements (POST /notification: the PING and the four chat
// notifications, any other type as an open object, and the 200, 400, 403 and 500
// answers). The package's tests validate every answer against it; tools may serve or
// load it. Do not modify the slice.
//
//go:embed openapi.yaml
var OpenAPI []byte
