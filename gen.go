// Package ymchat holds the OpenAPI description of the Yandex Market Partner API chat
// methods that the rest of the module is generated from and tested against.
//
// Most users want package github.com/ymchat/ymchat/chatclient instead: the client
// with validation, retries and rate-limit handling. Package api holds the code
// oapi-codegen generates from [Spec]; regenerate it with `make generate` (or
// `go generate ./...`) after editing openapi.yaml.
package ymchat

import _ "embed"

//go:generate go tool oapi-codegen -config api/types.cfg.yaml openapi.yaml
//go:generate go tool oapi-codegen -config api/client.cfg.yaml openapi.yaml
//go:generate go tool oapi-codegen -config api/server.cfg.yaml openapi.yaml

// Spec is openapi.yaml, the hand-maintained OpenAPI 3.0 description of the seven chat
// operations (createChat, getChat, getChats, getChatHistory, getChatMessage,
// sendMessageToChat, sendFileToChat) and their error responses. Tests and the
// fake Market in chatclient/chattest load it to validate requests and responses.
//
//go:embed openapi.yaml
var Spec []byte
