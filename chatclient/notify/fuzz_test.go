package notify_test

import (
	"encoding/json"
	"testing"

	"github.com/ymchat/ymchat/chatclient/notify"
)

// FuzzDecode: Decode never panics, takes as well-formed JSON exactly what json.Valid
// takes (below its depth limit), and what it accepts has every required field set
// and re-encodes to JSON that decodes to the same notification (a fixed point).
// Seeds: the fixtures below and testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{ping, created, sent, started, finished, order, `{}`, `null`, `[]`, `{"notificationType":"PING","x":[[{"y":[]}]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := notify.Decode(body)
		if len(body) < 10000 && syntaxRejected(err) == json.Valid(body) {
			t.Fatalf("json.Valid %v, but Decode: %v", json.Valid(body), err)
		}
		if err != nil {
			if _, ok := err.(*notify.FormatError); !ok {
				t.Fatalf("error %T %v is not a *FormatError", err, err)
			}
			return
		}
		checkRequired(t, n)
		b1, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("marshal %#v: %v", n, err)
		}
		n2, err := notify.Decode(b1)
		if err != nil {
			t.Fatalf("re-encoded %s rejected: %v", b1, err)
		}
		if n2.NotificationType() != n.NotificationType() {
			t.Fatalf("type %q became %q", n.NotificationType(), n2.NotificationType())
		}
		b2, err := json.Marshal(n2)
		if err != nil {
			t.Fatal(err)
		}
		if string(b1) != string(b2) {
			t.Fatalf("not a fixed point:\n%s\n%s", b1, b2)
		}
	})
}

func checkRequired(t *testing.T, n notify.Notification) {
	t.Helper()
	ids := func(chat, business int64) {
		if chat < 1 || business < 1 {
			t.Fatalf("%#v: ids below 1", n)
		}
	}
	switch v := n.(type) {
	case notify.Ping:
	case notify.ChatCreated:
		ids(v.ChatID, v.BusinessID)
	case notify.ChatMessageSent:
		ids(v.ChatID, v.BusinessID)
		if v.MessageID == "" {
			t.Fatalf("%#v: empty message id", v)
		}
	case notify.ChatArbitrageStarted:
		ids(v.ChatID, v.BusinessID)
	case notify.ChatArbitrageFinished:
		ids(v.ChatID, v.BusinessID)
	case notify.Other:
		if v.Type == "" || len(v.Raw) == 0 {
			t.Fatalf("%#v: empty type or body", v)
		}
		switch v.Type {
		case notify.TypePing, notify.TypeChatCreated, notify.TypeChatMessageSent, notify.TypeChatArbitrageStarted, notify.TypeChatArbitrageFinished:
			t.Fatalf("known type %q decoded as Other", v.Type)
		}
	default:
		t.Fatalf("unexpected %T", n)
	}
}
