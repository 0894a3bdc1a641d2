package chatclient

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ymchat/ymchat/api"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func validateID(field string, id int64) error {
	if id < 1 {
		return &ValidationError{Field: field, Rule: "must be at least 1", Value: id}
	}
	return nil
}

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

func quoted(v any) string { return strconv.Quote(fmt.Sprint(v)) }
