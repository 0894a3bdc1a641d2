package notify_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/notify"
)

// syntaxRejected reports whether err is Decode refusing the body as a whole for its
// JSON syntax.
func syntaxRejected(err error) bool {
	var fe *notify.FormatError
	return errors.As(err, &fe) && fe.Field == "" && (strings.HasPrefix(fe.Reason, "malformed JSON") || fe.Reason == "empty body")
}

// TestSyntaxMatchesEncodingJSON: Decode takes as well-formed exactly what
// json.Valid takes (below encoding/json's depth limit), and a body that is well
// formed but not an object is "not a JSON object".
func TestSyntaxMatchesEncodingJSON(t *testing.T) {
	values := []string{
		``, ` `, `{`, `}`, `{}`, ` {} `, `{} {}`, `{},`, `[]`, `[1,]`, `[,1]`, `[1 2]`, `[[],[{}]]`,
		`{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a" : 1 , "b" :[ ] }`, `{1:2}`, `{"a":1]`, `[1}`,
		`"`, `""`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\u00e9\uD83D\uDE00"`, `"\u12"`, `"\u12G4"`, `"\x"`, `"tab	in"`, "\"nl\nin\"", "\"\x7f\xff\xfe\"",
		`0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `+1`, `-1.5e-3`, `0x10`, `1_000`, `Infinity`, `NaN`,
		`true`, `false`, `null`, `tru`, `nul`, `True`, `nulll`, `truefalse`,
		"\t\r\n{\"notificationType\":\"PING\"}\n", "\u00a0{}", "{}\x00",
	}
	for _, v := range values {
		for _, body := range []string{v, `{"notificationType":"PING","x":` + v + `}`, `{"notificationType":"PING","x":[` + v + `]}`} {
			n, err := notify.Decode([]byte(body))
			if json.Valid([]byte(body)) {
				assert.False(t, syntaxRejected(err), "%q: %v", body, err)
			} else {
				assert.True(t, syntaxRejected(err), "%q: %v %v", body, n, err)
			}
		}
	}
	for _, body := range []string{`[]`, `null`, `"PING"`, `1`, ` true `} {
		_, err := notify.Decode([]byte(body))
		assert.EqualError(t, err, "body is not a JSON object", body)
	}
}

// TestMemberNames: member names are compared decoded, and a repeated one keeps its
// last value, as encoding/json does.
func TestMemberNames(t *testing.T) {
	n, err := notify.Decode([]byte(`{"notification\u0054ype":"PING"}`))
	require.NoError(t, err)
	assert.Equal(t, notify.Ping{}, n)

	n, err = notify.Decode([]byte(`{"notificationType":"ORDER_CREATED","notificationType":"PING"}`))
	require.NoError(t, err)
	assert.Equal(t, notify.Ping{}, n)

	_, err = notify.Decode([]byte(`{"notificationType":"CHAT_CREATED","chatId":1,"businessId":2,"createdAt":"2026-01-02T03:04:05Z","chatId":0}`))
	assert.EqualError(t, err, "chatId: must be at least 1")
}
