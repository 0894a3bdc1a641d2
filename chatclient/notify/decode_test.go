package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/notify"
)

// nested returns a JSON value nested depth levels deep: [[[…]]].
func nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// TestDeepNesting: a property nobody reads may be nested deeper than encoding/json's
// limit of 10000 levels; PING is still answered 200, a chat notification still
// reaches its function, and a malformed body is still a 400.
func TestDeepNesting(t *testing.T) {
	deep := nested(100_000) // 200,000 bytes, well within the size limit
	var got atomic.Value
	srv := serve(t, "/notification", notify.OnNotification(func(_ context.Context, n notify.Notification) error {
		got.Store(n)
		return nil
	}))

	requireOK(t, post(t, srv, `{"notificationType":"PING","extra":`+deep+`}`))
	requireOK(t, post(t, srv, `{"extra":{"a":[{"b":`+deep+`}]},"notificationType":"PING","time":`+deep+`}`))
	assert.Nil(t, got.Load(), "PING runs no user code")

	requireOK(t, post(t, srv, strings.Replace(created, `{`, `{"extra":`+deep+`,`, 1)))
	assert.Equal(t, notify.ChatCreated{ChatID: 81, BusinessID: 7, CreatedAt: mustTime(t, "2026-01-02T03:04:05.213Z")}, got.Load())

	for _, body := range []string{
		`{"notificationType":"PING","extra":` + deep[:len(deep)-1] + `}`, // one bracket short
		`{"notificationType":"PING","extra":` + deep + `]}`,
		`{"notificationType":"PING","extra":` + strings.Repeat("[", 100_000) + `}`,
	} {
		requireError(t, post(t, srv, body), 400, "WRONG_EVENT_FORMAT", "malformed JSON")
	}

	// A field the decoder reads is rejected, whatever its depth.
	requireError(t, post(t, srv, strings.Replace(created, `81`, deep, 1)), 400, "WRONG_EVENT_FORMAT", "chatId: not an integer")
	requireError(t, post(t, srv, `{"notificationType":`+deep+`}`), 400, "WRONG_EVENT_FORMAT", "notificationType: not a string")
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

func TestDecodeMessageID(t *testing.T) {
	decode := func(raw string) (notify.MessageID, error) {
		n, err := notify.Decode([]byte(`{"notificationType":"CHAT_MESSAGE_SENT","chatId":1,"messageId":` + raw + `,"businessId":2,"sentAt":"2026-01-02T03:04:05Z"}`))
		if err != nil {
			return "", err
		}
		return n.(notify.ChatMessageSent).MessageID, nil
	}
	for _, raw := range []string{`0`, `-0`, `-1`, `"0"`, `"-0"`, `"00"`, `"+0"`, `"-1"`, `"-92233720368547758080"`} {
		_, err := decode(raw)
		assert.EqualError(t, err, "messageId: must be at least 1", raw)
	}
	for raw, want := range map[string]notify.MessageID{
		`1`: "1", `"1"`: "1", `"+1"`: "+1", `"007"`: "007", `"m-17"`: "m-17", `"-"`: "-", `"-x"`: "-x", `"0x"`: "0x",
		`92233720368547758070`: "92233720368547758070", // kept as sent; Int64 reports it out of range
	} {
		id, err := decode(raw)
		require.NoError(t, err, raw)
		assert.Equal(t, want, id, raw)
	}
	var id notify.MessageID
	assert.EqualError(t, json.Unmarshal([]byte(`0`), &id), "messageId: must be at least 1")
}
