package chatclient_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/notify"
)

// The fixture's chat with a 300-message history (ids 1000021–1000320).
const longChat, longFirst, longLast = 5000008, 1000021, 1000320

func TestReadA300MessageHistoryFromTheMiddle(t *testing.T) {
	srv := newFake(t)
	c := clientFor(t, srv)
	ctx := context.Background()
	from := int64(longFirst + 150)
	var ids []int64
	for m, err := range c.Messages(ctx, 100, longChat, from) {
		require.NoError(t, err)
		ids = append(ids, m.ID)
	}
	require.Len(t, ids, longLast-int(from)+1)
	for i, id := range ids {
		require.Equal(t, from+int64(i), id, "oldest first, none skipped or repeated")
	}

	// Pages resume from a stored token.
	var first *chatclient.MessagePage
	for p, err := range c.MessagePages(ctx, 100, longChat, 0, chatclient.PageRequest{Limit: 100}) {
		require.NoError(t, err)
		first = p
		break
	}
	require.Len(t, first.Messages, 100)
	rest := 0
	for p, err := range c.MessagePages(ctx, 100, longChat, 0, chatclient.PageRequest{Token: first.NextPageToken}) {
		require.NoError(t, err)
		if rest == 0 {
			assert.Equal(t, first.Messages[99].ID+1, p.Messages[0].ID, "resumed right after the stored page")
		}
		rest += len(p.Messages)
	}
	assert.Equal(t, 200, rest)

	m, err := c.GetMessage(ctx, 100, longChat, from)
	require.NoError(t, err)
	assert.Equal(t, from, m.ID)
	_, err = c.GetMessage(ctx, 100, longChat, 1)
	assert.ErrorIs(t, err, chatclient.ErrNotFound)
}

func TestAttachmentsAndSendersDecode(t *testing.T) {
	srv := newFake(t)
	c := clientFor(t, srv)
	senders := map[chatclient.Sender]bool{}
	attachments := 0
	for _, chat := range []int64{5000002, 5000003, 5000004, 5000005} {
		for m, err := range c.Messages(context.Background(), 100, chat, 0) {
			require.NoError(t, err)
			senders[m.Sender] = true
			for _, a := range m.Attachments {
				attachments++
				assert.NotEmpty(t, a.Name)
				assert.True(t, strings.HasPrefix(a.URL, srv.URL), a.URL)
				assert.Positive(t, a.Size)
			}
		}
	}
	for _, s := range chatclient.Senders() {
		assert.True(t, senders[s], "sender %s", s)
	}
	assert.GreaterOrEqual(t, attachments, 5)
}

func TestSendTextAndAFile(t *testing.T) {
	srv := newFake(t)
	c := clientFor(t, srv)
	ctx := context.Background()
	chat, err := c.GetChat(ctx, 100, 5000003)
	require.NoError(t, err)
	require.Equal(t, chatclient.StatusWaitingForPartner, chat.Status)

	require.NoError(t, c.SendMessage(ctx, 100, 5000003, "Здравствуйте! Отправили замену сегодня."))
	after, err := c.GetChat(ctx, 100, 5000003)
	require.NoError(t, err)
	assert.Equal(t, chatclient.StatusWaitingForCustomer, after.Status)
	assert.True(t, after.UpdatedAt.After(chat.UpdatedAt) || after.UpdatedAt.Equal(chat.UpdatedAt))

	// A file from disk: streamed, not closed, its offset left alone.
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	content := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0123456789"), 30_000)...)
	require.NoError(t, os.WriteFile(path, content, 0o644))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, c.SendFile(ctx, 100, 5000003, "invoice.pdf", f))
	_, err = f.Seek(0, io.SeekCurrent)
	assert.NoError(t, err, "the caller's file is still open")

	// A plain stream (read once into memory).
	require.NoError(t, c.SendFile(ctx, 100, 5000003, "note.txt", iotest.HalfReader(strings.NewReader("hello"))))

	msgs := srv.Messages(100, 5000003)
	last := msgs[len(msgs)-1]
	require.Len(t, last.Payload, 1)
	assert.Equal(t, "note.txt", last.Payload[0].Name)
	pdf := msgs[len(msgs)-2]
	require.Len(t, pdf.Payload, 1)
	assert.Equal(t, int32(len(content)), pdf.Payload[0].Size)
	resp, err := http.Get(srv.URL + strings.TrimPrefix(pdf.Payload[0].URL, srv.URL))
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, content, got, "the fake serves back the bytes sent")
	assert.Contains(t, resp.Header.Get("Content-Type"), "pdf")
}

func TestBadInputIsRefusedBeforeTheNetwork(t *testing.T) {
	srv := newFake(t)
	c := clientFor(t, srv)
	ctx := context.Background()
	cases := map[string]error{
		"message":   c.SendMessage(ctx, 100, 5000003, "   "),
		"message.":  c.SendMessage(ctx, 100, 5000003, strings.Repeat("я", chatclient.MaxMessageLength+1)),
		"file":      c.SendFile(ctx, 100, 5000003, "big.bin", bytes.NewReader(make([]byte, chatclient.MaxFileSize+1))),
		"file.":     c.SendFile(ctx, 100, 5000003, "empty.txt", strings.NewReader("")),
		"file name": c.SendFile(ctx, 100, 5000003, "../etc/passwd", strings.NewReader("x")),
		"chatId":    c.SendMessage(ctx, 100, 0, "hi"),
		"limit": func() error {
			_, err := c.ListMessages(ctx, 100, 5000003, 0, chatclient.PageRequest{Limit: 101})
			return err
		}(),
		"messageId": func() error { _, err := c.GetMessage(ctx, 100, 5000003, 0); return err }(),
	}
	for field, err := range cases {
		var ve *chatclient.ValidationError
		require.ErrorAs(t, err, &ve, field)
		assert.Equal(t, strings.TrimSuffix(field, "."), ve.Field)
	}
	assert.NoError(t, chatclient.ValidateText(strings.Repeat("я", chatclient.MaxMessageLength)), "4096 characters, 8192 bytes: fine")
	assert.Empty(t, srv.Requests(), "nothing was sent")
}

// TestNotificationLoopEndToEnd: the customer writes in the fake Market, the Market
// notifies the receiver, the receiver's code fetches the message with the client and
// answers it in the fake Market — all over real HTTP.
func TestNotificationLoopEndToEnd(t *testing.T) {
	srv := newFake(t)
	c := clientFor(t, srv)
	answered := make(chan int64, 1)
	h, err := notify.NewHandler(
		notify.OnChatMessageSent(func(ctx context.Context, n notify.ChatMessageSent) error {
			id, err := n.MessageID.Int64()
			if err != nil {
				return err
			}
			msg, err := c.GetMessage(ctx, n.BusinessID, n.ChatID, id)
			if err != nil {
				return err
			}
			if err := c.SendMessage(ctx, n.BusinessID, n.ChatID, "Re: "+msg.Text); err != nil {
				return err
			}
			answered <- n.ChatID
			return nil
		}),
		notify.WithDedup(100),
	)
	require.NoError(t, err)
	receiver := httptest.NewServer(h)
	t.Cleanup(receiver.Close)
	require.NoError(t, srv.RegisterReceiver(receiver.URL+"/notification"), "the PING on registration is answered")

	_, err = srv.CustomerWrites(100, 5000002, "Where is my parcel?")
	require.NoError(t, err)
	select {
	case chat := <-answered:
		assert.Equal(t, int64(5000002), chat)
	case <-time.After(10 * time.Second):
		t.Fatal("no answer within 10s")
	}
	assert.Equal(t, 1, countText(srv, 5000002, "Re: Where is my parcel?"))
	got, err := c.GetChat(context.Background(), 100, 5000002)
	require.NoError(t, err)
	assert.Equal(t, chatclient.StatusWaitingForCustomer, got.Status, "answered: the customer's turn")
}
