package chattest

import (
	"context"
	"fmt"

	"github.com/ymchat/ymchat/api"
)

// GetChatHistory implements api.StrictServerInterface.
func (m market) GetChatHistory(_ context.Context, req api.GetChatHistoryRequestObject) (api.GetChatHistoryResponseObject, error) {
	return api.GetChatHistory404JSONResponse{NotFoundJSONResponse: notFound(fmt.Sprintf("chat %d not found", req.Params.ChatID))}, nil
}

// GetChatMessage implements api.StrictServerInterface.
func (m market) GetChatMessage(_ context.Context, req api.GetChatMessageRequestObject) (api.GetChatMessageResponseObject, error) {
	return api.GetChatMessage404JSONResponse{NotFoundJSONResponse: notFound(fmt.Sprintf("chat %d not found", req.Params.ChatID))}, nil
}

// SendMessageToChat implements api.StrictServerInterface.
func (m market) SendMessageToChat(_ context.Context, req api.SendMessageToChatRequestObject) (api.SendMessageToChatResponseObject, error) {
	return api.SendMessageToChat404JSONResponse{NotFoundJSONResponse: notFound(fmt.Sprintf("chat %d not found", req.Params.ChatID))}, nil
}

// SendFileToChat implements api.StrictServerInterface.
func (m market) SendFileToChat(_ context.Context, req api.SendFileToChatRequestObject) (api.SendFileToChatResponseObject, error) {
	return api.SendFileToChat404JSONResponse{NotFoundJSONResponse: notFound(fmt.Sprintf("chat %d not found", req.Params.ChatID))}, nil
}
