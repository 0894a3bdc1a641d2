package chattest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/notify"
)

// The fixture's chats with conversations (see doc.go).
const (
	longChat  = 5000008 // 300 generated messages
	firstLong = 1000021 // the id of its first message
	photoChat = 5000003 // Russian, with photos
)

// fixedNow is after every date of the default fixture.
var fixedNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func newConversationServer(t *testing.T, opts ...chattest.Option) *chattest.Server {
	t.Helper()
	srv := chattest.NewServer(append([]chattest.Option{chattest.WithDefaultFixture(), chattest.WithClock(func() time.Time { return fixedNow })}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// decode re-decodes a raw answer into a typed envelope.
func decode[T any](t *testing.T, out map[string]any) T {
	t.Helper()
	b, err := json.Marshal(out)
	require.NoError(t, err)
	var v T
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

func history(t *testing.T, srv *chattest.Server, chat int64, query, body string) (int, api.ChatHistory, map[string]any) {
	t.Helper()
	status, _, out := raw(t, srv, "POST", fmt.Sprintf("/v2/businesses/100/chats/history?chatId=%d%s", chat, query), "key", body)
	if status != 200 {
		return status, api.ChatHistory{}, out
	}
	return status, decode[api.GetChatHistoryEnvelope](t, out).Result, out
}

func msgIDs(msgs []api.ChatMessage) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.MessageID
	}
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestHistoryPagesFromTheMiddle(t *testing.T) {
	srv := newConversationServer(t)
	for _, spelling := range []string{"page_token", "pageToken"} {
		t.Run(spelling, func(t *testing.T) {
			from := int64(firstLong + 150)
			body := fmt.Sprintf(`{"messageIdFrom":%d}`, from)
			var got []int64
			query := "&limit=40"
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10)
				status, h, out := history(t, srv, longChat, query, body)
				require.Equal(t, 200, status, out)
				assert.Equal(t, api.ChatContextTypeOrder, h.Context.Type)
				got = append(got, msgIDs(h.Messages)...)
				if h.Paging.NextPageToken == "" {
					break
				}
				assert.Len(t, h.Messages, 40, "only the last page is short")
				query = "&limit=40&" + spelling + "=" + h.Paging.NextPageToken
			}
			assert.Equal(t, seq(from, firstLong+299), got, "messageIdFrom and later, oldest first, none skipped or repeated")
		})
	}
	t.Run("default limit and the whole history", func(t *testing.T) {
		status, h, _ := history(t, srv, longChat, "", `{}`)
		require.Equal(t, 200, status)
		assert.Equal(t, seq(firstLong, firstLong+49), msgIDs(h.Messages), "50 per page from the first message")
		assert.NotEmpty(t, h.Paging.NextPageToken)
		for i := 1; i < len(h.Messages); i++ {
			assert.True(t, h.Messages[i].CreatedAt.After(h.Messages[i-1].CreatedAt), "oldest first")
		}
	})
	t.Run("page_token wins over pageToken", func(t *testing.T) {
		_, p1, _ := history(t, srv, longChat, "&limit=10", `{}`)
		_, p2, _ := history(t, srv, longChat, "&limit=10&page_token="+p1.Paging.NextPageToken, `{}`)
		status, h, out := history(t, srv, longChat, "&limit=10&page_token="+p1.Paging.NextPageToken+"&pageToken="+p2.Paging.NextPageToken, `{}`)
		require.Equal(t, 200, status, out)
		assert.Equal(t, msgIDs(p2.Messages), msgIDs(h.Messages))
	})
	t.Run("a token is bound to its chat", func(t *testing.T) {
		_, p1, _ := history(t, srv, longChat, "&limit=10", `{}`)
		for _, spelling := range []string{"page_token", "pageToken"} {
			status, _, out := history(t, srv, photoChat, "&"+spelling+"="+p1.Paging.NextPageToken, `{}`)
			assert.Equal(t, 400, status)
			_, msg := errorCode(t, out)
			assert.Contains(t, msg, spelling)
		}
	})
	t.Run("limits", func(t *testing.T) {
		for _, q := range []string{"&limit=0", "&limit=101"} {
			status, _, out := history(t, srv, longChat, q, `{}`)
			assert.Equal(t, 400, status)
			_, msg := errorCode(t, out)
			assert.Contains(t, msg, "limit")
		}
		status, h, _ := history(t, srv, longChat, "&limit=100", `{"messageIdFrom":1000300}`)
		require.Equal(t, 200, status)
		assert.Equal(t, seq(1000300, firstLong+299), msgIDs(h.Messages))
		assert.Empty(t, h.Paging.NextPageToken, "the last page has no token")
	})
	t.Run("unknown chat", func(t *testing.T) {
		status, _, _ := history(t, srv, 999, "", `{}`)
		assert.Equal(t, 404, status)
		status, _, _ = raw(t, srv, "POST", "/v2/businesses/200/chats/history?chatId=5000008", "key", `{}`)
		assert.Equal(t, 404, status, "a chat of another business")
	})
}

func TestGetChatsTakesBothTokenSpellings(t *testing.T) {
	srv := newConversationServer(t)
	want := ids(chatsOf(t, 100))
	for _, spelling := range []string{"page_token", "pageToken"} {
		var got []int64
		path := "/v2/businesses/100/chats?limit=20"
		for pages := 0; ; pages++ {
			require.Less(t, pages, 20, spelling)
			status, _, out := raw(t, srv, "POST", path, "key", `{}`)
			require.Equal(t, 200, status, out)
			page := decode[api.GetChatsEnvelope](t, out).Result
			got = append(got, ids(page.Chats)...)
			if page.Paging.NextPageToken == "" {
				break
			}
			path = "/v2/businesses/100/chats?limit=20&" + spelling + "=" + page.Paging.NextPageToken
		}
		assert.Equal(t, want, got, spelling)
	}
}

func TestFixtureConversations(t *testing.T) {
	srv := newConversationServer(t)
	senders := map[api.ChatMessageSender]bool{}
	var files []api.ChatMessagePayload
	for _, c := range chatsOf(t, 100) {
		msgs := srv.Messages(100, c.ChatID)
		for i, m := range msgs {
			senders[m.Sender] = true
			files = append(files, m.Payload...)
			if i > 0 {
				assert.Greater(t, m.MessageID, msgs[i-1].MessageID)
				assert.False(t, m.CreatedAt.Before(msgs[i-1].CreatedAt))
			}
		}
		if len(msgs) > 0 {
			chat, _ := srv.Chat(100, c.ChatID)
			assert.Equal(t, chat.UpdatedAt.Unix(), msgs[len(msgs)-1].CreatedAt.Unix(), "chat %d: updatedAt is the last message's time", c.ChatID)
		}
	}
	assert.Len(t, senders, 4, "every sender")
	assert.Len(t, srv.Messages(100, longChat), 300)
	require.Len(t, files, 6)
	for _, f := range files {
		require.True(t, strings.HasPrefix(f.URL, srv.URL+"/files/"), f.URL)
		resp, err := http.Get(f.URL)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, f.URL)
		assert.Len(t, b, int(f.Size), f.Name)
	}

	status, _, out := raw(t, srv, "GET", "/v2/businesses/100/chats/message?chatId=5000004&messageId=1000011", "key", "")
	require.Equal(t, 200, status, out)
	m := decode[api.GetChatMessageEnvelope](t, out).Result
	assert.Equal(t, api.ChatMessageSenderCustomer, m.Sender)
	require.Len(t, m.Payload, 1)
	assert.Equal(t, "照片.jpg", m.Payload[0].Name)

	for _, q := range []string{"chatId=5000004&messageId=1000001", "chatId=5000004&messageId=9", "chatId=1&messageId=1000011"} {
		status, _, out = raw(t, srv, "GET", "/v2/businesses/100/chats/message?"+q, "key", "")
		assert.Equal(t, 404, status, q)
		code, _ := errorCode(t, out)
		assert.Equal(t, "NOT_FOUND", code)
	}
}

func TestSendMessageToChat(t *testing.T) {
	srv := newConversationServer(t)
	before, _ := srv.Chat(100, photoChat)
	require.Equal(t, api.ChatStatusWaitingForPartner, before.Status)
	status, _, out := raw(t, srv, "POST", fmt.Sprintf("/v2/businesses/100/chats/message?chatId=%d", photoChat), "key", `{"message":"Оформим замену, курьер заберёт коробку завтра."}`)
	require.Equal(t, 200, status, out)
	assert.Equal(t, map[string]any{"status": "OK"}, out)

	after, _ := srv.Chat(100, photoChat)
	assert.Equal(t, api.ChatStatusWaitingForCustomer, after.Status)
	assert.True(t, after.UpdatedAt.Equal(fixedNow), after.UpdatedAt)
	msgs := srv.Messages(100, photoChat)
	last := msgs[len(msgs)-1]
	assert.Equal(t, api.ChatMessageSenderPartner, last.Sender)
	assert.Equal(t, "Оформим замену, курьер заберёт коробку завтра.", last.Message)
	assert.Greater(t, last.MessageID, int64(firstLong+299), "ids increase over the business")

	status, _, _ = raw(t, srv, "POST", "/v2/businesses/100/chats/message?chatId=1", "key", `{"message":"x"}`)
	assert.Equal(t, 404, status)
	status, _, out = raw(t, srv, "POST", fmt.Sprintf("/v2/businesses/100/chats/message?chatId=%d", photoChat), "key", `{"message":""}`)
	assert.Equal(t, 400, status)
	_, msg := errorCode(t, out)
	assert.Contains(t, msg, "message")
}

// upload sends a file with sendFileToChat as a real multipart body.
func upload(t *testing.T, srv *chattest.Server, chat int64, field, name, ctype string, data []byte) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, field, name))
	h.Set("Content-Type", ctype)
	pw, err := mw.CreatePart(h)
	require.NoError(t, err)
	_, _ = pw.Write(data)
	require.NoError(t, mw.Close())
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/v2/businesses/100/chats/file/send?chatId=%d", srv.URL, chat), &buf)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Api-Key", srv.Token)
	resp, err := (&http.Client{Transport: conformance{t}}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(b, &out), "every answer is JSON: %s", b)
	return resp.StatusCode, out
}

func TestSendFileToChat(t *testing.T) {
	srv := newConversationServer(t)
	data := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0, 1, 2, 3}, 1000)
	status, out := upload(t, srv, photoChat, "file", "замена коробки.png", "image/png", data)
	require.Equal(t, 200, status, out)
	assert.Equal(t, map[string]any{"status": "OK"}, out)

	chat, _ := srv.Chat(100, photoChat)
	assert.Equal(t, api.ChatStatusWaitingForCustomer, chat.Status)
	assert.True(t, chat.UpdatedAt.Equal(fixedNow))
	msgs := srv.Messages(100, photoChat)
	last := msgs[len(msgs)-1]
	assert.Equal(t, api.ChatMessageSenderPartner, last.Sender)
	require.Len(t, last.Payload, 1)
	p := last.Payload[0]
	assert.Equal(t, "замена коробки.png", p.Name)
	assert.Equal(t, int32(len(data)), p.Size)

	resp, err := http.Get(p.URL)
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	assert.Equal(t, data, got, "the same bytes come back")

	// The message reads back through the API too.
	status, _, raw1 := raw(t, srv, "GET", fmt.Sprintf("/v2/businesses/100/chats/message?chatId=%d&messageId=%d", photoChat, last.MessageID), "key", "")
	require.Equal(t, 200, status)
	assert.Equal(t, p, decode[api.GetChatMessageEnvelope](t, raw1).Result.Payload[0])

	t.Run("5 MB is the bound", func(t *testing.T) {
		status, out := upload(t, srv, photoChat, "file", "big.bin", "application/octet-stream", make([]byte, chattest.MaxFileSize))
		assert.Equal(t, 200, status, out)
		status, out = upload(t, srv, photoChat, "file", "big.bin", "application/octet-stream", make([]byte, chattest.MaxFileSize+1))
		assert.Equal(t, 400, status)
		_, msg := errorCode(t, out)
		assert.Contains(t, msg, "file")
		status, out = upload(t, srv, photoChat, "file", "huge.bin", "application/octet-stream", make([]byte, 3*chattest.MaxFileSize))
		assert.Equal(t, 400, status, "a body past the bound is a clean 400 too")
		_, msg = errorCode(t, out)
		assert.Contains(t, msg, "file")
	})
	t.Run("the spec still applies", func(t *testing.T) {
		status, out := upload(t, srv, photoChat, "document", "a.txt", "text/plain", []byte("hi"))
		assert.Equal(t, 400, status)
		_, msg := errorCode(t, out)
		assert.Contains(t, msg, "body")
		status, _ = upload(t, srv, 1, "file", "a.txt", "text/plain", []byte("hi"))
		assert.Equal(t, 404, status)
		status, _, _ = raw(t, srv, "POST", fmt.Sprintf("/v2/businesses/100/chats/file/send?chatId=%d", photoChat), "key", `{"file":"x"}`)
		assert.Equal(t, 400, status, "not multipart")
	})
	t.Run("a JSON body past 1 MiB is a clean 400", func(t *testing.T) {
		status, _, out := raw(t, srv, "POST", fmt.Sprintf("/v2/businesses/100/chats/message?chatId=%d", photoChat), "key", `{"message":"`+strings.Repeat("x", 2<<20)+`"}`)
		assert.Equal(t, 400, status)
		_, msg := errorCode(t, out)
		assert.Contains(t, msg, "larger than")
	})
}

func TestCustomerWritesAndSetChatStatus(t *testing.T) {
	srv := newConversationServer(t)
	chat := int64(5000002) // waiting for the customer
	id, err := srv.CustomerWrites(100, chat, "白色的还有货吗？")
	require.NoError(t, err)
	c, _ := srv.Chat(100, chat)
	assert.Equal(t, chatclient.StatusWaitingForPartner, c.Status)
	assert.True(t, c.UpdatedAt.Equal(fixedNow))

	status, _, out := raw(t, srv, "GET", fmt.Sprintf("/v2/businesses/100/chats/message?chatId=%d&messageId=%d", chat, id), "key", "")
	require.Equal(t, 200, status, out)
	m := decode[api.GetChatMessageEnvelope](t, out).Result
	assert.Equal(t, api.ChatMessageSenderCustomer, m.Sender)
	assert.Equal(t, "白色的还有货吗？", m.Message)

	_, err = srv.CustomerWrites(100, 1, "x")
	assert.Error(t, err)

	require.NoError(t, srv.SetChatStatus(100, chat, chatclient.StatusFinished))
	c, _ = srv.Chat(100, chat)
	assert.Equal(t, chatclient.StatusFinished, c.Status)
	assert.Error(t, srv.SetChatStatus(200, chat, chatclient.StatusFinished), "not a chat of business 200")
}

func TestDropAndDropAfter(t *testing.T) {
	srv := newConversationServer(t)
	send := func() error {
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v2/businesses/100/chats/message?chatId=%d", srv.URL, photoChat), strings.NewReader(`{"message":"once"}`))
		req.Header.Set("Api-Key", srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	count := func() int {
		n := 0
		for _, m := range srv.Messages(100, photoChat) {
			if m.Message == "once" {
				n++
			}
		}
		return n
	}
	srv.Script("sendMessageToChat", chattest.Drop())
	require.Error(t, send())
	assert.Equal(t, 0, count(), "Drop: the Market never saw the request")

	srv.Script("sendMessageToChat", chattest.DropAfter())
	require.Error(t, send())
	assert.Equal(t, 1, count(), "DropAfter: the message was sent, the answer lost")
	reqs := srv.Requests()
	assert.Equal(t, 0, reqs[len(reqs)-1].Status, "recorded as dropped")

	require.NoError(t, send())
	assert.Equal(t, 2, count())
}

func TestConversationQuotas(t *testing.T) {
	srv := newConversationServer(t)
	for op, want := range map[string]string{
		"POST /v2/businesses/100/chats/history?chatId=5000003":                  "10000",
		"GET /v2/businesses/100/chats/message?chatId=5000003&messageId=1000001": "1000",
		"POST /v2/businesses/100/chats/message?chatId=5000003":                  "1000",
	} {
		method, path, _ := strings.Cut(op, " ")
		body := ""
		if method == "POST" {
			body = `{"message":"quota"}`
			if strings.Contains(path, "history") {
				body = `{}`
			}
		}
		status, hdr, _ := raw(t, srv, method, path, "key", body)
		require.Equal(t, 200, status, op)
		assert.Equal(t, want, hdr.Get("X-RateLimit-Resource-Limit"), op)
	}
	assert.Equal(t, chattest.Quota{Limit: 1000, Window: time.Hour}, chattest.DocumentedQuotas()["sendFileToChat"])

	tight := newConversationServer(t, chattest.WithQuota("sendMessageToChat", chattest.Quota{Limit: 1, Window: time.Hour}))
	status, _, _ := raw(t, tight, "POST", "/v2/businesses/100/chats/message?chatId=5000003", "key", `{"message":"a"}`)
	require.Equal(t, 200, status)
	status, _, _ = raw(t, tight, "POST", "/v2/businesses/100/chats/message?chatId=5000003", "key", `{"message":"b"}`)
	assert.Equal(t, 420, status)
}

func TestStickersAndStatusChangesSendNoPush(t *testing.T) {
	var got atomic.Int32
	rcv := receiverOf(t, notify.OnChatMessageSent(func(ctx context.Context, n notify.ChatMessageSent) error {
		got.Add(1)
		return nil
	}))
	srv := chattest.Start(t, manyChats(1), chattest.WithReceiver(rcv.URL))
	sticker, err := srv.CustomerSendsSticker(7, 1)
	require.NoError(t, err)
	require.NoError(t, srv.SetChatStatus(7, 1, chatclient.StatusFinished))
	file, err := srv.CustomerSendsFile(7, 1, "photo.jpg", []byte("jpeg"))
	require.NoError(t, err)
	waitFor(t, "the file's push, recorded", func() bool {
		return got.Load() == 1 && countType(srv, notify.TypeChatMessageSent) == 1
	})
	msgs := srv.Messages(7, 1)
	require.Len(t, msgs, 2)
	assert.Equal(t, sticker, msgs[0].MessageID)
	assert.Empty(t, msgs[0].Message)
	assert.Empty(t, msgs[0].Payload)
	assert.Equal(t, file, msgs[1].MessageID)
	assert.Empty(t, msgs[1].Message)
	require.Len(t, msgs[1].Payload, 1)
	assert.Equal(t, "photo.jpg", msgs[1].Payload[0].Name)
	assert.Equal(t, 1, countType(srv, notify.TypeChatMessageSent), "the file only")
}
