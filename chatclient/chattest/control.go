package chattest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/notify"
)

// ControlPrefix is where [Server.Control] answers: a path the Market's API never uses,
// so that the control surface and the Market's paths can share one address without a
// client of the API ever reaching the controls by mistake.
const ControlPrefix = "/_fake/"

// The events a [Trigger] can name.
const (
	// TriggerCustomerWrites: the customer writes Text in the chat (CHAT_MESSAGE_SENT).
	TriggerCustomerWrites = "customer-writes"
	// TriggerSticker: the customer sends a sticker, a message with an image and no text
	// (CHAT_MESSAGE_SENT).
	TriggerSticker = "sticker"
	// TriggerChatCreated: a customer starts a new DIRECT chat (CHAT_CREATED); the
	// answer's ChatID names it.
	TriggerChatCreated = "chat-created"
	// TriggerArbitrageStarted: the customer opens a dispute (CHAT_ARBITRAGE_STARTED).
	TriggerArbitrageStarted = "arbitrage-started"
	// TriggerArbitrageFinished: the Market closes the dispute (CHAT_ARBITRAGE_FINISHED).
	TriggerArbitrageFinished = "arbitrage-finished"
	// TriggerStatus: the chat moves to Status; the Market sends no notification for it.
	TriggerStatus = "status"
)

// TriggerEvents returns the events a [Trigger] can name, in the order help shows them.
func TriggerEvents() []string {
	return []string{TriggerCustomerWrites, TriggerSticker, TriggerChatCreated, TriggerArbitrageStarted, TriggerArbitrageFinished, TriggerStatus}
}

// Trigger is what POST /_fake/trigger reads: one event for the fake to act out.
type Trigger struct {
	// Event is one of [TriggerEvents].
	Event string `json:"event"`
	// BusinessID is the business the event happens in.
	BusinessID int64 `json:"businessId"`
	// ChatID is the chat it happens in (not for chat-created).
	ChatID int64 `json:"chatId,omitempty"`
	// Text is what the customer writes (customer-writes; chat-created's first message).
	Text string `json:"text,omitempty"`
	// Status is where the chat moves (status).
	Status chatclient.ChatStatus `json:"status,omitempty"`
	// Customer is the name of the customer who starts a chat (chat-created).
	Customer string `json:"customer,omitempty"`
}

// TriggerResult is the answer of POST /_fake/trigger: what the event made.
type TriggerResult struct {
	// ChatID is the chat the event happened in.
	ChatID int64 `json:"chatId"`
	// MessageID is the message the event wrote, if any.
	MessageID int64 `json:"messageId,omitempty"`
	// Notification is the type of the notification sent to receivers, if any.
	Notification string `json:"notification,omitempty"`
}

// Receiver is what POST /_fake/receivers reads.
type Receiver struct {
	// URL is the notification endpoint to register (see [Server.RegisterReceiver]).
	URL string `json:"url"`
}

// Control returns the fake's control surface, for a program that serves the fake on
// an address of its own (as `ymchat fake` does) and for others to drive it over HTTP,
// the way `stripe trigger` drives a Stripe listener. It answers under [ControlPrefix]
// and takes the same token as the API (Api-Key header or bearer):
//
//	POST /_fake/trigger    a [Trigger] as JSON; answers a [TriggerResult]
//	POST /_fake/receivers  a [Receiver] as JSON; registers it (a PING first); 204
//	GET  /_fake/health     204, without credentials: the fake is up
//
// Errors are the Market's JSON error envelope: 400 for a bad request, 401/403 for
// missing or wrong credentials, 404 for an unknown chat or path. Requests to the
// controls are not recorded by [Server.Requests] and spend no quota.
func (s *Server) Control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ControlPrefix+"health", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+ControlPrefix+"trigger", s.authorized(func(w http.ResponseWriter, r *http.Request) {
		var t Trigger
		if err := decodeControl(r, &t); err != nil {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
			return
		}
		res, err := s.Trigger(t)
		var nf errNotFound
		switch {
		case errors.As(err, &nf):
			writeError(w, http.StatusNotFound, "NOT_FOUND", nf.msg)
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", strings.TrimPrefix(err.Error(), "chattest: "))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	}))
	mux.HandleFunc("POST "+ControlPrefix+"receivers", s.authorized(func(w http.ResponseWriter, r *http.Request) {
		var rc Receiver
		if err := decodeControl(r, &rc); err != nil || rc.URL == "" {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "body: want {\"url\": \"http://...\"}")
			return
		}
		if err := s.RegisterReceiver(rc.URL); err != nil {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", strings.TrimPrefix(err.Error(), "chattest: "))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc(ControlPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no control %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// WithControl is the fake's API and its controls on one handler: requests under
// [ControlPrefix] go to [Server.Control], every other to the Market's API.
func (s *Server) WithControl() http.Handler {
	control := s.Control()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ControlPrefix) {
			control.ServeHTTP(w, r)
			return
		}
		s.ServeHTTP(w, r)
	})
}

// authorized checks the credentials as the API does.
func (s *Server) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, token := credentials(r.Header)
		switch {
		case token == "":
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "no credentials: send an Api-Key header or an OAuth bearer token")
		case token != s.Token:
			writeError(w, http.StatusForbidden, "FORBIDDEN", "wrong token")
		default:
			h(w, r)
		}
	}
}

// decodeControl reads a control's JSON body, refusing unknown fields so that a typo
// is an error rather than an event with a field left out.
func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %v", err)
	}
	return nil
}

// stickerName is the file a sticker arrives as; its content is made up, as the
// fixture's files are.
const stickerName = "sticker.webp"

// Trigger acts out one event, as [Server.Control]'s POST /_fake/trigger does, and
// sends receivers the notification the Market would.
func (s *Server) Trigger(t Trigger) (TriggerResult, error) {
	if t.BusinessID < 1 {
		return TriggerResult{}, errors.New("chattest: businessId must be at least 1")
	}
	if t.Event != TriggerChatCreated && t.ChatID < 1 {
		return TriggerResult{}, fmt.Errorf("chattest: %s needs chatId", t.Event)
	}
	res := TriggerResult{ChatID: t.ChatID}
	switch t.Event {
	case TriggerCustomerWrites:
		if strings.TrimSpace(t.Text) == "" {
			return res, errors.New("chattest: customer-writes needs text")
		}
		id, err := s.CustomerWrites(t.BusinessID, t.ChatID, t.Text)
		if err != nil {
			return res, err
		}
		res.MessageID, res.Notification = id, notify.TypeChatMessageSent
	case TriggerSticker:
		url := s.store.addFile(stickerName, contentTypeOf(stickerName), madeUpContent(stickerName, 2048))
		payload := []api.ChatMessagePayload{{Name: stickerName, URL: url, Size: 2048}}
		m, err := s.store.write(t.BusinessID, t.ChatID, api.ChatMessageSenderCustomer, "", payload, api.ChatStatusWaitingForPartner, s.now())
		if err != nil {
			return res, err
		}
		s.messageSent(t.BusinessID, t.ChatID, m)
		res.MessageID, res.Notification = m.MessageID, notify.TypeChatMessageSent
	case TriggerChatCreated:
		id, err := s.customerStartsChat(t)
		if err != nil {
			return res, err
		}
		res.ChatID, res.Notification = id, notify.TypeChatCreated
	case TriggerArbitrageStarted:
		if err := s.StartArbitrage(t.BusinessID, t.ChatID); err != nil {
			return res, err
		}
		res.Notification = notify.TypeChatArbitrageStarted
	case TriggerArbitrageFinished:
		if err := s.FinishArbitrage(t.BusinessID, t.ChatID); err != nil {
			return res, err
		}
		res.Notification = notify.TypeChatArbitrageFinished
	case TriggerStatus:
		known := false
		for _, st := range chatclient.ChatStatuses() {
			known = known || st == t.Status
		}
		if !known {
			return res, fmt.Errorf("chattest: status %q is not one of %v", t.Status, chatclient.ChatStatuses())
		}
		if err := s.SetChatStatus(t.BusinessID, t.ChatID, t.Status); err != nil {
			return res, err
		}
	default:
		return res, fmt.Errorf("chattest: unknown event %q: want one of %s", t.Event, strings.Join(TriggerEvents(), ", "))
	}
	return res, nil
}

// customerStartsChat adds a DIRECT chat with the next free id, with the customer's
// first message when there is text, and tells receivers.
func (s *Server) customerStartsChat(t Trigger) (int64, error) {
	s.store.mu.Lock()
	id := s.store.nextID // chat ids are unique across businesses
	s.store.mu.Unlock()
	name := t.Customer
	if name == "" {
		name = "Покупатель"
	}
	now := s.now().Truncate(time.Second)
	c := api.Chat{ChatID: id, Type: api.ChatTypeChat, Status: api.ChatStatusNew, CreatedAt: now, UpdatedAt: now,
		Context: api.ChatFullContext{Type: api.ChatContextTypeDirect, Customer: api.ChatCustomer{Name: name}}}
	if err := s.AddChat(t.BusinessID, c); err != nil {
		return 0, err
	}
	s.notes.publish(notify.ChatCreated{ChatID: id, BusinessID: t.BusinessID, CreatedAt: now})
	if strings.TrimSpace(t.Text) != "" {
		if _, err := s.CustomerWrites(t.BusinessID, id, t.Text); err != nil {
			return 0, err
		}
	}
	return id, nil
}
