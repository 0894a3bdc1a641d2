package chatclient

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ymchat/ymchat/api"
)

// This file is the client's one vocabulary: every enum a caller passes or reads, the
// lists of their known values (which validation, the godoc, the CLI's help and its shell
// completion all read), and what a chat is about. Everyday code needs no other package.

// ChatStatus says where a chat stands. Values the Market adds later decode as they are;
// [ChatStatuses] lists the known ones.
type ChatStatus = api.ChatStatus

// The known chat statuses.
const (
	// StatusNew: the chat was just started.
	StatusNew = api.ChatStatusNew
	// StatusWaitingForCustomer: the customer should answer.
	StatusWaitingForCustomer = api.ChatStatusWaitingForCustomer
	// StatusWaitingForPartner: the seller should answer.
	StatusWaitingForPartner = api.ChatStatusWaitingForPartner
	// StatusWaitingForArbiter: an arbiter should answer (a dispute).
	StatusWaitingForArbiter = api.ChatStatusWaitingForArbiter
	// StatusWaitingForMarket: the Market's support should answer.
	StatusWaitingForMarket = api.ChatStatusWaitingForMarket
	// StatusFinished: the chat is closed.
	StatusFinished = api.ChatStatusFinished
)

// ChatStatuses returns the known chat statuses, in the Market's order.
func ChatStatuses() []ChatStatus {
	return []ChatStatus{StatusNew, StatusWaitingForCustomer, StatusWaitingForPartner,
		StatusWaitingForArbiter, StatusWaitingForMarket, StatusFinished}
}

// ChatType is the kind of chat. Values the Market adds later decode as they are;
// [ChatTypes] lists the known ones.
type ChatType = api.ChatType

// The known chat types.
const (
	// TypeChat: a chat with a customer.
	TypeChat = api.ChatTypeChat
	// TypeArbitrage: a dispute, with an arbiter.
	TypeArbitrage = api.ChatTypeArbitrage
)

// ChatTypes returns the known chat types.
func ChatTypes() []ChatType { return []ChatType{TypeChat, TypeArbitrage} }

// ContextType says what a chat is about: an order, a return, or nothing in particular
// (a chat the customer started). Values the Market adds later decode as they are;
// [ContextTypes] lists the known ones.
type ContextType = api.ChatContextType

// The known context types.
const (
	// ContextOrder: the chat is about an order.
	ContextOrder = api.ChatContextTypeOrder
	// ContextReturn: the chat is about a return.
	ContextReturn = api.ChatContextTypeReturn
	// ContextDirect: the customer started the chat, about nothing in particular.
	ContextDirect = api.ChatContextTypeDirect
)

// ContextTypes returns the known context types.
func ContextTypes() []ContextType { return []ContextType{ContextOrder, ContextReturn, ContextDirect} }

// SubjectTypes returns the context types a chat can be started about or filtered by
// subject: orders and returns.
func SubjectTypes() []ContextType { return []ContextType{ContextOrder, ContextReturn} }

// Subject is the order or return a chat is to be started about ([Client.CreateChat]),
// or that chats are filtered by ([Filter].Subjects). Make one with [Order] or [Return].
// It is not what a chat reports about itself: that is [ChatContext].
type Subject struct {
	// Type is [ContextOrder] or [ContextReturn].
	Type ContextType
	// ID is the order's or the return's id, at least 1.
	ID int64
}

// Order names an order, to start a chat about or to filter chats by.
func Order(orderID int64) Subject { return Subject{Type: ContextOrder, ID: orderID} }

// Return names a return, to start a chat about or to filter chats by.
func Return(returnID int64) Subject { return Subject{Type: ContextReturn, ID: returnID} }

// String formats the subject as "ORDER 123".
func (s Subject) String() string { return string(s.Type) + " " + itoa(s.ID) }

func (s Subject) api() api.ChatContext {
	return api.ChatContext{Type: api.ChatContextIdentifiableType(s.Type), ID: s.ID}
}

func (s Subject) validate(field string) error {
	if s.Type != ContextOrder && s.Type != ContextReturn {
		return &ValidationError{Field: field + ".type", Rule: "must be " + oneOf(SubjectTypes()), Value: quoted(s.Type)}
	}
	if s.ID < 1 {
		return &ValidationError{Field: field + ".id", Rule: "must be at least 1", Value: s.ID}
	}
	return nil
}

// Filter selects chats. A chat must match every list that is set (AND); a nil list does
// not restrict. A list that is set must hold at least one value and no value twice.
type Filter struct {
	// Subjects keeps chats about these orders or returns (see [Order] and [Return]).
	Subjects []Subject
	// ContextTypes keeps chats with these context types (see [ContextTypes]).
	ContextTypes []ContextType
	// Types keeps chats of these types (see [ChatTypes]).
	Types []ChatType
	// Statuses keeps chats in these statuses (see [ChatStatuses]).
	Statuses []ChatStatus
	// OrderIDs keeps chats about these orders.
	//
	// Deprecated: the Market deprecates this filter; use Subjects with [Order].
	OrderIDs []int64
}

// oneOf formats known values for a rule: "ORDER or RETURN", "CHAT, ARBITRAGE or ...".
func oneOf[T ~string](known []T) string {
	parts := make([]string, len(known))
	for i, v := range known {
		parts[i] = string(v)
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return "one of " + strings.Join(parts, ", ")
}

// Sender says who wrote a message. Values the Market adds later decode as they are;
// [Senders] lists the known ones.
type Sender = api.ChatMessageSender

// The known senders.
const (
	// SenderPartner: the seller (you).
	SenderPartner = api.ChatMessageSenderPartner
	// SenderCustomer: the customer.
	SenderCustomer = api.ChatMessageSenderCustomer
	// SenderMarket: the Market itself (automatic messages).
	SenderMarket = api.ChatMessageSenderMarket
	// SenderSupport: the Market's support staff.
	SenderSupport = api.ChatMessageSenderSupport
)

// Senders returns the known senders.
func Senders() []Sender { return []Sender{SenderPartner, SenderCustomer, SenderMarket, SenderSupport} }

// request checks the filter and turns it into the getChats body.
func (f Filter) request() (api.GetChatsRequest, error) {
	if err := checkList("filter.subjects", f.Subjects, func(field string, s Subject) error { return s.validate(field) }); err != nil {
		return api.GetChatsRequest{}, err
	}
	if err := checkList("filter.contextTypes", f.ContextTypes, known(ContextTypes())); err != nil {
		return api.GetChatsRequest{}, err
	}
	if err := checkList("filter.types", f.Types, known(ChatTypes())); err != nil {
		return api.GetChatsRequest{}, err
	}
	if err := checkList("filter.statuses", f.Statuses, known(ChatStatuses())); err != nil {
		return api.GetChatsRequest{}, err
	}
	if err := checkList("filter.orderIds", f.OrderIDs, validateID); err != nil {
		return api.GetChatsRequest{}, err
	}
	var contexts []api.ChatContext
	if f.Subjects != nil {
		contexts = make([]api.ChatContext, len(f.Subjects))
		for i, s := range f.Subjects {
			contexts[i] = s.api()
		}
	}
	return api.GetChatsRequest{
		Contexts:     contexts,
		ContextTypes: f.ContextTypes,
		Types:        f.Types,
		Statuses:     f.Statuses,
		OrderIDs:     f.OrderIDs,
	}, nil
}

// checkList applies the rules every filter list shares: nil means not set; a set list
// holds at least one value and no value twice, and each value passes check.
func checkList[T comparable](field string, list []T, check func(field string, v T) error) error {
	if list == nil {
		return nil
	}
	if len(list) == 0 {
		return &ValidationError{Field: field, Rule: "must hold at least one value when set (use nil for no filter)", Value: "[]"}
	}
	// Short lists (the usual case) are searched in place; long ones through a map, so
	// that a huge list is checked in linear time.
	var first map[T]int
	if len(list) > 16 {
		first = make(map[T]int, len(list))
	}
	for i, v := range list {
		if err := check(field, v); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				ve.Field = fmt.Sprintf("%s[%d]%s", field, i, strings.TrimPrefix(ve.Field, field))
			}
			return err
		}
		j, dup := -1, false
		if first != nil {
			j, dup = first[v]
			first[v] = i
		} else if j = slices.Index(list[:i], v); j >= 0 {
			dup = true
		}
		if dup {
			return &ValidationError{Field: fmt.Sprintf("%s[%d]", field, i), Rule: fmt.Sprintf("must not repeat %s[%d]", field, j), Value: quoted(v)}
		}
	}
	return nil
}

// known checks a value against the known values of its enum (the same list the godoc
// and the CLI show).
func known[T ~string](values []T) func(string, T) error {
	return func(field string, v T) error {
		if !slices.Contains(values, v) {
			return &ValidationError{Field: field, Rule: "must be " + oneOf(values), Value: quoted(v)}
		}
		return nil
	}
}
