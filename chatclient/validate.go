package chatclient

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ymchat/ymchat/api"
)

func validateBusiness(id int64) error {
	if id < 1 {
		return &ValidationError{Field: "businessId", Rule: "must be at least 1", Value: id}
	}
	return nil
}

func validateContext(field string, c api.ChatContext) error {
	if !c.Type.Valid() {
		return &ValidationError{Field: field + ".type", Rule: "must be ORDER or RETURN", Value: quoted(c.Type)}
	}
	if c.ID < 1 {
		return &ValidationError{Field: field + ".id", Rule: "must be at least 1", Value: c.ID}
	}
	return nil
}

// request checks the filter and turns it into the getChats body.
func (f Filter) request() (api.GetChatsRequest, error) {
	if err := checkList("filter.contexts", f.Contexts, func(field string, c api.ChatContext) error { return validateContext(field, c) }); err != nil {
		return api.GetChatsRequest{}, err
	}
	if err := checkList("filter.contextTypes", f.ContextTypes, enumCheck(api.ChatContextType.Valid, "ORDER", "RETURN", "DIRECT")); err != nil {
		return api.GetChatsRequest{}, err
	}
	if err := checkList("filter.types", f.Types, enumCheck(api.ChatType.Valid, "CHAT", "ARBITRAGE")); err != nil {
		return api.GetChatsRequest{}, err
	}
	if err := checkList("filter.statuses", f.Statuses, enumCheck(api.ChatStatus.Valid,
		"NEW", "WAITING_FOR_CUSTOMER", "WAITING_FOR_PARTNER", "WAITING_FOR_ARBITER", "WAITING_FOR_MARKET", "FINISHED")); err != nil {
		return api.GetChatsRequest{}, err
	}
	if err := checkList("filter.orderIds", f.OrderIDs, func(field string, id int64) error {
		if id < 1 {
			return &ValidationError{Field: field, Rule: "must be at least 1", Value: id}
		}
		return nil
	}); err != nil {
		return api.GetChatsRequest{}, err
	}
	return api.GetChatsRequest{
		Contexts:     f.Contexts,
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
	for i, v := range list {
		name := fmt.Sprintf("%s[%d]", field, i)
		if err := check(name, v); err != nil {
			return err
		}
		if j := slices.Index(list[:i], v); j >= 0 {
			return &ValidationError{Field: name, Rule: fmt.Sprintf("must not repeat %s[%d]", field, j), Value: quoted(v)}
		}
	}
	return nil
}

func enumCheck[T ~string](valid func(T) bool, known ...string) func(string, T) error {
	return func(field string, v T) error {
		if !valid(v) {
			return &ValidationError{Field: field, Rule: "must be one of " + strings.Join(known, ", "), Value: quoted(v)}
		}
		return nil
	}
}

func quoted(v any) string { return fmt.Sprintf("%q", fmt.Sprint(v)) }
