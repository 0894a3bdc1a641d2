package chatclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/ymchat/ymchat/api"
)

// SendFile sends a file to a chat as the seller: name is the file's name as the
// customer will see it, r its content, at most [MaxFileSize] bytes.
//
// The size is checked before anything is sent. The content type is worked out from
// the name's extension, else from the first bytes. The body is streamed as
// multipart/form-data with a Content-Length. SendFile never closes r and never reads
// it twice:
//
//   - When r can be read at any offset with a known size (an *os.File, *bytes.Reader,
//     *strings.Reader or *io.SectionReader), nothing is buffered: every attempt reads
//     the bytes afresh with ReadAt, which leaves r's own offset alone.
//   - Any other reader is read once into memory (at most MaxFileSize+1 bytes, in
//     chunks, so about the file's size and no second copy), since its size must be
//     known before sending and a retry needs the bytes again.
//
// Like [Client.SendMessage], a file is delivered at most once: after an ambiguous
// failure the chat's history is searched for a PARTNER attachment of the same name and
// size, and a [*MaybeDeliveredError] is returned when that cannot be settled.
func (c *Client) SendFile(ctx context.Context, businessID, chatID int64, name string, r io.Reader) error {
	if err := validateID("businessId", businessID); err != nil {
		return err
	}
	if err := validateID("chatId", chatID); err != nil {
		return err
	}
	if err := validateFileName(name); err != nil {
		return err
	}
	if r == nil {
		return &ValidationError{Field: "file", Rule: "must not be nil", Value: nil}
	}
	src, size, err := fileSource(r)
	if err != nil {
		return err
	}
	switch {
	case size == 0:
		return &ValidationError{Field: "file", Rule: "must not be empty", Value: "0 bytes"}
	case size > MaxFileSize:
		return &ValidationError{Field: "file", Rule: fmt.Sprintf("must be at most %d bytes (5 MiB)", MaxFileSize), Value: fmt.Sprintf("more than %d bytes", MaxFileSize)}
	}
	head := make([]byte, min(512, size))
	if _, err := src.ReadAt(head, 0); err != nil && err != io.EOF {
		return fmt.Errorf("chatclient: %s: reading the file: %w", OpSendFileToChat, err)
	}
	contentType := mime.TypeByExtension(strings.ToLower(path.Ext(name)))
	if contentType == "" {
		contentType = http.DetectContentType(head)
	}
	body := newMultipartBody(name, contentType, src, size)
	build := func() (*call, error) {
		req, err := api.NewSendFileToChatRequestWithBody(c.server, businessID, &api.SendFileToChatParams{ChatID: chatID}, body.contentType(), body.reader())
		if err != nil {
			return nil, err
		}
		req.ContentLength = body.length()
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(body.reader()), nil }
		return &call{op: OpSendFileToChat, business: businessID, req: req, once: true}, nil
	}
	return c.sendOnce(ctx, businessID, chatID, build, func(m Message) bool {
		for _, a := range m.Attachments {
			if a.Name == name && a.Size == size {
				return true
			}
		}
		return false
	})
}

func validateFileName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return &ValidationError{Field: "file name", Rule: "must not be empty", Value: quoted(name)}
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return &ValidationError{Field: "file name", Rule: "must be printable UTF-8", Value: quoted(name)}
	case strings.ContainsAny(name, `/\`):
		return &ValidationError{Field: "file name", Rule: "must be a name, not a path (use filepath.Base)", Value: quoted(name)}
	case len(name) > 255:
		return &ValidationError{Field: "file name", Rule: "must be at most 255 bytes", Value: fmt.Sprintf("%d bytes", len(name))}
	}
	return nil
}

// fileSource returns r as something every attempt can read from the start, and its
// size: r itself when it can be read at any offset and its size is known; otherwise
// what it holds, read once into memory (at most MaxFileSize+1 bytes).
func fileSource(r io.Reader) (io.ReaderAt, int64, error) {
	switch v := r.(type) {
	case *os.File:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			off, err := v.Seek(0, io.SeekCurrent)
			if err == nil {
				return io.NewSectionReader(v, off, fi.Size()-off), fi.Size() - off, nil
			}
		}
	case *bytes.Reader:
		off := v.Size() - int64(v.Len())
		return io.NewSectionReader(v, off, int64(v.Len())), int64(v.Len()), nil
	case *strings.Reader:
		off := v.Size() - int64(v.Len())
		return io.NewSectionReader(v, off, int64(v.Len())), int64(v.Len()), nil
	case *io.SectionReader:
		return v, v.Size(), nil
	}
	c, err := readChunks(r, MaxFileSize+1)
	if err != nil {
		return nil, 0, fmt.Errorf("chatclient: %s: reading the file: %w", OpSendFileToChat, err)
	}
	return c, c.size, nil
}

// chunks holds a stream read once into memory, in chunks that double from 32 KiB to
// 1 MiB: nothing is copied to grow a buffer, so a 5 MiB stream costs about 5 MiB, not
// the twice that a doubling buffer takes at its last step.
type chunks struct {
	bufs [][]byte
	size int64
}

func readChunks(r io.Reader, limit int64) (*chunks, error) {
	c := &chunks{}
	n := 32 << 10
	for c.size < limit {
		buf := make([]byte, min(int64(n), limit-c.size))
		got, err := io.ReadFull(r, buf)
		if got > 0 {
			c.bufs = append(c.bufs, buf[:got])
			c.size += int64(got)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return c, nil
		}
		if err != nil {
			return nil, err
		}
		n = min(2*n, 1<<20)
	}
	return c, nil
}

// ReadAt implements io.ReaderAt over the chunks.
func (c *chunks) ReadAt(p []byte, off int64) (int, error) {
	if off >= c.size {
		return 0, io.EOF
	}
	n := 0
	for _, b := range c.bufs {
		if off >= int64(len(b)) {
			off -= int64(len(b))
			continue
		}
		m := copy(p[n:], b[off:])
		n += m
		off = 0
		if n == len(p) {
			return n, nil
		}
	}
	return n, io.EOF
}

// multipartBody is a multipart/form-data body of one part, "file", laid out once:
// the part's header, the file's bytes read afresh for every attempt, the closing
// boundary.
type multipartBody struct {
	head, tail []byte
	boundary   string
	src        io.ReaderAt
	size       int64
}

func newMultipartBody(name, contentType string, src io.ReaderAt, size int64) *multipartBody {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": name}))
	h.Set("Content-Type", contentType)
	_, _ = w.CreatePart(h) // writes to memory: cannot fail
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	_ = w.Close()
	return &multipartBody{head: head, tail: bytes.Clone(buf.Bytes()), boundary: w.Boundary(), src: src, size: size}
}

func (b *multipartBody) contentType() string { return "multipart/form-data; boundary=" + b.boundary }

func (b *multipartBody) length() int64 { return int64(len(b.head)) + b.size + int64(len(b.tail)) }

func (b *multipartBody) reader() io.Reader {
	return io.MultiReader(bytes.NewReader(b.head), io.NewSectionReader(b.src, 0, b.size), bytes.NewReader(b.tail))
}
