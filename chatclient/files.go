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
	"sync"

	"github.com/ymchat/ymchat/api"
)

// SendFile sends a file to a chat as the seller, at most once (see the package doc's
// "Sending at most once"): name is the file's name as the customer will see it, r its
// content, at most [MaxFileSize] bytes.
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
// Any failure to read r (a stream that ends with io.ErrUnexpectedEOF, a file that
// shrinks or fails while it is sent) ends the call with an error that wraps it: the
// Market got no whole file, and nothing partial is reported sent. After an ambiguous
// failure the chat's history is searched for a PARTNER attachment of the same size and
// name (compared without case, spaces or underscores, which the Market may change).
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
	req, err := api.NewSendFileToChatRequestWithBody(c.server, businessID, &api.SendFileToChatParams{ChatID: chatID}, body.contentType(), body.reader())
	if err != nil {
		return err
	}
	req.ContentLength = body.length()
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(body.reader()), nil }
	cl := &call{op: OpSendFileToChat, business: businessID, req: req, once: true, source: body.failed}
	return c.sendOnce(ctx, cl, chatID, sent{file: name, size: size})
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
		got, err := readFull(r, buf)
		if got > 0 {
			c.bufs = append(c.bufs, buf[:got])
			c.size += int64(got)
		}
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return nil, err
		}
		n = min(2*n, 1<<20)
	}
	return c, nil
}

// readFull fills buf from r. Unlike io.ReadFull it returns io.EOF for a stream that
// ends, whatever it read, and any other error as r gave it: io.ReadFull reports both a
// short stream and a stream that failed with io.ErrUnexpectedEOF (a truncated download
// or gzip stream) as io.ErrUnexpectedEOF, and the second must not pass for the end.
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
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
	mu         sync.Mutex
	last       *source // what the latest attempt read of the file
}

func newMultipartBody(name, contentType string, src io.ReaderAt, size int64) *multipartBody {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", formDataFile(name))
	h.Set("Content-Type", contentType)
	_, _ = w.CreatePart(h) // writes to memory: cannot fail
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	_ = w.Close()
	return &multipartBody{head: head, tail: bytes.Clone(buf.Bytes()), boundary: w.Boundary(), src: src, size: size}
}

// formDataFile is the file part's Content-Disposition as RFC 7578 has it and as
// browsers, curl and multipart.Writer.CreateFormFile write it: the UTF-8 name in a
// quoted string, with quotes and backslashes escaped, and no RFC 2231 filename*, which
// RFC 7578 forbids for form data.
func formDataFile(name string) string {
	return `form-data; name="file"; filename="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
}

func (b *multipartBody) contentType() string { return "multipart/form-data; boundary=" + b.boundary }

func (b *multipartBody) length() int64 { return int64(len(b.head)) + b.size + int64(len(b.tail)) }

// reader returns the body for one attempt.
func (b *multipartBody) reader() io.Reader {
	s := &source{r: io.NewSectionReader(b.src, 0, b.size), left: b.size}
	b.mu.Lock()
	b.last = s
	b.mu.Unlock()
	return io.MultiReader(bytes.NewReader(b.head), s, bytes.NewReader(b.tail))
}

// failed returns the latest attempt's failure to read the file, if it had one.
func (b *multipartBody) failed() error {
	b.mu.Lock()
	s := b.last
	b.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.failed()
}

// source reads the file's bytes for one attempt and remembers a failure to read them
// (a file that shrank reads short: that is io.ErrUnexpectedEOF), so that the attempt is
// reported as the file's failure, not the network's.
type source struct {
	r    *io.SectionReader
	mu   sync.Mutex
	left int64
	err  error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.left -= int64(n)
	if err == io.EOF && s.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

func (s *source) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
