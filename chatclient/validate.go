package chatclient

import (
	"errors"
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

func enumCheck[T ~string](valid func(T) bool, known ...string) func(string, T) error {
	return func(field string, v T) error {
		if !valid(v) {
			return &ValidationError{Field: field, Rule: "must be one of " + strings.Join(known, ", "), Value: quoted(v)}
		}
		return nil
	}
}

func quoted(v any) string { return fmt.Sprintf("%q", fmt.Sprint(v)) }
