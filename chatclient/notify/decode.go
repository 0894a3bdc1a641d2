package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// FormatError is why [Decode] rejected a notification; the [Handler] answers it with
// 400 WRONG_EVENT_FORMAT and the error's text as the message.
type FormatError struct {
	// Field is the offending property ("notificationType", "chatId", ...), or "" when
	// the body as a whole is wrong.
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error returns "field: reason", or the reason alone when no field is concerned.
func (e *FormatError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func formatErr(field, reason string) error { return &FormatError{Field: field, Reason: reason} }

// Decode parses one notification body. It returns a [Ping], one of the four chat
// types, or [Other] for any other non-empty notificationType; on failure the error is
// a *[FormatError] naming the field.
//
// Rules: the body is one JSON object; notificationType is a non-empty string; for
// the chat types chatId and businessId are JSON integers ≥ 1 in the int64 range, the
// time field is an RFC 3339 date-time string, and messageId is a non-empty string or
// a JSON integer (kept as sent) that, when it is a decimal integer, is ≥ 1. A null
// counts as absent. Unknown properties are ignored, as the vendor adds fields over
// time, and may be nested to any depth. PING is taken whatever else it holds (its
// time is kept only when it is a valid date-time).
func Decode(body []byte) (Notification, error) {
	typ, obj, err := decodeEnvelope(body)
	if err != nil {
		return nil, err
	}
	return decodeTyped(typ, obj, body)
}

// decodeEnvelope checks that body is a JSON object with a non-empty string
// notificationType and returns the type and the object's properties. The syntax of
// the whole body is checked, but not with encoding/json: see objectMembers.
func decodeEnvelope(body []byte) (string, map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil, formatErr("", "empty body")
	}
	obj, err := objectMembers(body)
	if err != nil {
		return "", nil, formatErr("", err.Error())
	}
	raw, ok := present(obj, "notificationType")
	if !ok {
		return "", nil, formatErr("notificationType", "missing")
	}
	var typ string
	if err := json.Unmarshal(raw, &typ); err != nil {
		return "", nil, formatErr("notificationType", "not a string")
	}
	if typ == "" {
		return "", nil, formatErr("notificationType", "empty")
	}
	return typ, obj, nil
}

// present returns obj[name] unless it is absent or null.
func present(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	raw, ok := obj[name]
	if !ok || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

func decodeTyped(typ string, obj map[string]json.RawMessage, body []byte) (Notification, error) {
	var d fields
	d.obj = obj
	switch typ {
	case TypePing:
		var p Ping
		if raw, ok := present(obj, "time"); ok {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					p.Time = t
				}
			}
		}
		return p, nil
	case TypeChatCreated:
		n := ChatCreated{ChatID: d.id("chatId"), BusinessID: d.id("businessId"), CreatedAt: d.time("createdAt")}
		return n, d.err
	case TypeChatMessageSent:
		n := ChatMessageSent{ChatID: d.id("chatId"), MessageID: d.messageID("messageId"), BusinessID: d.id("businessId"), SentAt: d.time("sentAt")}
		return n, d.err
	case TypeChatArbitrageStarted:
		n := ChatArbitrageStarted{ChatID: d.id("chatId"), BusinessID: d.id("businessId"), StartedAt: d.time("startedAt")}
		return n, d.err
	case TypeChatArbitrageFinished:
		n := ChatArbitrageFinished{ChatID: d.id("chatId"), BusinessID: d.id("businessId"), FinishedAt: d.time("finishedAt")}
		return n, d.err
	default:
		return Other{Type: typ, Raw: bytes.Clone(bytes.TrimSpace(body))}, nil
	}
}

// fields reads required properties, keeping the first error.
type fields struct {
	obj map[string]json.RawMessage
	err error
}

func (d *fields) fail(field, reason string) {
	if d.err == nil {
		d.err = formatErr(field, reason)
	}
}

// id reads a required JSON integer ≥ 1.
func (d *fields) id(name string) int64 {
	raw, ok := present(d.obj, name)
	if !ok {
		d.fail(name, "missing")
		return 0
	}
	if !isIntegerLiteral(raw) {
		d.fail(name, "not an integer")
		return 0
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		d.fail(name, "out of the int64 range")
		return 0
	}
	if n < 1 {
		d.fail(name, "must be at least 1")
		return 0
	}
	return n
}

// time reads a required RFC 3339 date-time string.
func (d *fields) time(name string) time.Time {
	raw, ok := present(d.obj, name)
	if !ok {
		d.fail(name, "missing")
		return time.Time{}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.fail(name, "not a string")
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail(name, fmt.Sprintf("%q is not an RFC 3339 date-time", s))
		return time.Time{}
	}
	return t
}

func (d *fields) messageID(name string) MessageID {
	raw, ok := present(d.obj, name)
	if !ok {
		d.fail(name, "missing")
		return ""
	}
	id, err := decodeMessageID(raw)
	if err != nil {
		d.fail(name, err.(*FormatError).Reason)
	}
	return id
}

func decodeMessageID(raw []byte) (MessageID, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", formatErr("messageId", "not a valid string")
		}
		if s == "" {
			return "", formatErr("messageId", "empty")
		}
		if notPositive(s) {
			return "", formatErr("messageId", "must be at least 1")
		}
		return MessageID(s), nil
	}
	if isIntegerLiteral(raw) {
		if notPositive(string(raw)) {
			return "", formatErr("messageId", "must be at least 1")
		}
		return MessageID(raw), nil
	}
	return "", formatErr("messageId", "neither a string nor an integer")
}

// notPositive reports whether s is a decimal integer below 1 as
// strconv.ParseInt reads it (a sign, then digits; any size): such an id names no
// message getChatMessage can fetch, so a retry could never succeed. Other text is
// kept as sent.
func notPositive(s string) bool {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return false
	}
	zero := true
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
		zero = zero && c == '0'
	}
	return neg || zero
}

// isIntegerLiteral reports whether b is a JSON number without fraction or exponent.
func isIntegerLiteral(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
