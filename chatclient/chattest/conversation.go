package chattest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
)

// absolute gives the messages' payload URLs on the fake's own server (stored as
// /files/... paths) the server's base URL.
func (s *Server) absolute(msgs []api.ChatMessage) []api.ChatMessage {
	for i := range msgs {
		if len(msgs[i].Payload) == 0 {
			continue
		}
		p := append([]api.ChatMessagePayload{}, msgs[i].Payload...)
		for j := range p {
			if strings.HasPrefix(p[j].URL, "/") {
				p[j].URL = s.URL + p[j].URL
			}
		}
		msgs[i].Payload = p
	}
	return msgs
}

// historyKey is what a getChatHistory page token is bound to.
func historyKey(chatID int64) string { return fmt.Sprintf("history:%d", chatID) }

// GetChatHistory implements api.StrictServerInterface. Messages come oldest first,
// starting at messageIdFrom (the first message with an id at least that) or at the
// chat's first message; a page token goes on after the last message handed out and
// takes precedence over messageIdFrom.
func (m market) GetChatHistory(_ context.Context, req api.GetChatHistoryRequestObject) (api.GetChatHistoryResponseObject, error) {
	limit := DefaultHistoryPageSize
	if req.Params.Limit != nil {
		limit = int(*req.Params.Limit)
	}
	var from, after int64
	if req.Body != nil && req.Body.MessageIDFrom != nil {
		from = *req.Body.MessageIDFrom
	}
	if name, tok := pickToken(req.Params.PageToken, req.Params.PageTokenCamelCase); tok != "" {
		var ok bool
		after, ok = decodeToken(tok, req.BusinessID, historyKey(req.Params.ChatID))
		if !ok {
			return api.GetChatHistory400JSONResponse{BadRequestJSONResponse: badRequest("query parameter " + name + ": not a token this chat's history handed out")}, nil
		}
	}
	chat, msgs, more, err := m.s.store.history(req.BusinessID, req.Params.ChatID, from, after, limit)
	var nf errNotFound
	if errors.As(err, &nf) {
		return api.GetChatHistory404JSONResponse{NotFoundJSONResponse: notFound(nf.msg)}, nil
	}
	if err != nil {
		return nil, err
	}
	h := api.ChatHistory{Context: chat.Context, Messages: m.s.absolute(msgs), OrderID: chat.OrderID}
	if more {
		h.Paging = api.Pager{NextPageToken: encodeToken(req.BusinessID, historyKey(req.Params.ChatID), msgs[len(msgs)-1].MessageID)}
	}
	return api.GetChatHistory200JSONResponse{Body: api.GetChatHistoryEnvelope{Status: api.ResponseStatusOK, Result: h}}, nil
}

// GetChatMessage implements api.StrictServerInterface.
func (m market) GetChatMessage(_ context.Context, req api.GetChatMessageRequestObject) (api.GetChatMessageResponseObject, error) {
	msg, err := m.s.store.message(req.BusinessID, req.Params.ChatID, req.Params.MessageID)
	var nf errNotFound
	if errors.As(err, &nf) {
		return api.GetChatMessage404JSONResponse{NotFoundJSONResponse: notFound(nf.msg)}, nil
	}
	if err != nil {
		return nil, err
	}
	return api.GetChatMessage200JSONResponse{Body: api.GetChatMessageEnvelope{Status: api.ResponseStatusOK, Result: m.s.absolute([]api.ChatMessage{msg})[0]}}, nil
}

// SendMessageToChat implements api.StrictServerInterface: the message is the
// partner's, and the chat waits for the customer.
func (m market) SendMessageToChat(_ context.Context, req api.SendMessageToChatRequestObject) (api.SendMessageToChatResponseObject, error) {
	_, err := m.s.store.write(req.BusinessID, req.Params.ChatID, api.ChatMessageSenderPartner, req.Body.Message, nil, api.ChatStatusWaitingForCustomer, m.s.now())
	var nf errNotFound
	if errors.As(err, &nf) {
		return api.SendMessageToChat404JSONResponse{NotFoundJSONResponse: notFound(nf.msg)}, nil
	}
	if err != nil {
		return nil, err
	}
	return api.SendMessageToChat200JSONResponse{Body: api.EmptyEnvelope{Status: api.ResponseStatusOK}}, nil
}

// SendFileToChat implements api.StrictServerInterface: the file is stored and served
// back under /files/, and a partner's message carries it.
func (m market) SendFileToChat(_ context.Context, req api.SendFileToChatRequestObject) (api.SendFileToChatResponseObject, error) {
	if _, ok := m.s.store.get(req.BusinessID, req.Params.ChatID); !ok {
		return api.SendFileToChat404JSONResponse{NotFoundJSONResponse: notFound(chatNotFound(req.BusinessID, req.Params.ChatID).msg)}, nil
	}
	bad := func(msg string) (api.SendFileToChatResponseObject, error) {
		return api.SendFileToChat400JSONResponse{BadRequestJSONResponse: badRequest(msg)}, nil
	}
	var (
		found             bool
		name, contentType string
		data              []byte
	)
	for {
		part, err := req.Body.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad("body: not a multipart/form-data body: " + err.Error())
		}
		if part.FormName() != "file" {
			continue
		}
		if found {
			return bad("body field file: give one file")
		}
		found = true
		name, contentType = part.FileName(), part.Header.Get("Content-Type")
		data, err = io.ReadAll(io.LimitReader(part, MaxFileSize+1))
		if err != nil {
			return bad("body field file: " + err.Error())
		}
		if len(data) > MaxFileSize {
			return bad(fmt.Sprintf("body field file: the file is larger than %d bytes (5 MB, x-max-file-size)", MaxFileSize))
		}
	}
	switch {
	case !found:
		return bad("body field file: missing")
	case len(data) == 0:
		return bad("body field file: the file is empty")
	}
	if name == "" {
		name = "file"
	}
	if m.s.fileName != nil {
		name = m.s.fileName(name)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	url := m.s.store.addFile(name, contentType, data)
	payload := []api.ChatMessagePayload{{Name: name, URL: url, Size: int32(len(data))}}
	_, err := m.s.store.write(req.BusinessID, req.Params.ChatID, api.ChatMessageSenderPartner, "", payload, api.ChatStatusWaitingForCustomer, m.s.now())
	var nf errNotFound
	if errors.As(err, &nf) {
		return api.SendFileToChat404JSONResponse{NotFoundJSONResponse: notFound(nf.msg)}, nil
	}
	if err != nil {
		return nil, err
	}
	return api.SendFileToChat200JSONResponse{Body: api.EmptyEnvelope{Status: api.ResponseStatusOK}}, nil
}

// CustomerWrites plays the customer: it appends a CUSTOMER message with text to the
// chat, moves the chat to WAITING_FOR_PARTNER and its updatedAt to the message's time,
// and returns the new message's id. Receivers get CHAT_MESSAGE_SENT.
func (s *Server) CustomerWrites(businessID, chatID int64, text string) (messageID int64, err error) {
	m, err := s.store.write(businessID, chatID, api.ChatMessageSenderCustomer, text, nil, api.ChatStatusWaitingForPartner, s.now())
	if err != nil {
		return 0, fmt.Errorf("chattest: %w", err)
	}
	s.messageSent(businessID, chatID, m)
	return m.MessageID, nil
}

// Messages returns a chat's messages, oldest first, as getChatHistory would (file
// URLs on the fake's own server included); nil when there is no such chat.
func (s *Server) Messages(businessID, chatID int64) []api.ChatMessage {
	return s.absolute(s.store.messages(businessID, chatID))
}

// SetChatStatus moves a chat to status, as the Market or the customer would. Its
// updatedAt stays (it is the time of the last message), and, as on the Market, no
// notification is sent.
func (s *Server) SetChatStatus(businessID, chatID int64, status chatclient.ChatStatus) error {
	if _, err := s.store.setChat(businessID, chatID, status, "", s.now()); err != nil {
		return fmt.Errorf("chattest: %w", err)
	}
	return nil
}

// CustomerSendsSticker plays the customer sending a sticker: a CUSTOMER message with
// neither text nor payload. The chat waits for the partner, and, as on the Market, no
// CHAT_MESSAGE_SENT is sent for it. It returns the message's id.
func (s *Server) CustomerSendsSticker(businessID, chatID int64) (messageID int64, err error) {
	m, err := s.store.write(businessID, chatID, api.ChatMessageSenderCustomer, "", nil, api.ChatStatusWaitingForPartner, s.now())
	if err != nil {
		return 0, fmt.Errorf("chattest: %w", err)
	}
	return m.MessageID, nil
}

// CustomerSendsFile plays the customer sending a file with no text: a CUSTOMER message
// whose payload names the file, served back under /files/ like a partner's. The chat
// waits for the partner and receivers get CHAT_MESSAGE_SENT. It returns the message's
// id.
func (s *Server) CustomerSendsFile(businessID, chatID int64, name string, data []byte) (messageID int64, err error) {
	if _, ok := s.store.get(businessID, chatID); !ok {
		return 0, fmt.Errorf("chattest: %w", chatNotFound(businessID, chatID))
	}
	url := s.store.addFile(name, contentTypeOf(name), data)
	payload := []api.ChatMessagePayload{{Name: name, URL: url, Size: int32(len(data))}}
	m, err := s.store.write(businessID, chatID, api.ChatMessageSenderCustomer, "", payload, api.ChatStatusWaitingForPartner, s.now())
	if err != nil {
		return 0, fmt.Errorf("chattest: %w", err)
	}
	s.messageSent(businessID, chatID, m)
	return m.MessageID, nil
}
