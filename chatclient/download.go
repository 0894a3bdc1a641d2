package chatclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// MaxDownloadSize bounds what [Client.Download] reads of any attachment, whatever size
// it declares.
const MaxDownloadSize = 64 << 20

// maxDownloadRedirects is how many redirects a download follows.
const maxDownloadRedirects = 3

// ErrDownloadRefused is matched by the [*DownloadError] of a download the client
// refused: a URL that is not https (or http to a loopback host), too many redirects, or
// a body larger than the attachment declares (or than [MaxDownloadSize]).
var ErrDownloadRefused = errors.New("download refused")

// DownloadError reports a download that failed or was refused. URL is the address
// without its query, which may hold a signature.
type DownloadError struct {
	// URL is where the download was, or was redirected to, without its query.
	URL string
	// StatusCode is the answer's status, 0 when there was none.
	StatusCode int
	// Reason says what went wrong.
	Reason string
	// Err is the cause: [ErrDownloadRefused], or the transport's error.
	Err error
}

// Error implements error.
func (e *DownloadError) Error() string {
	s := "chatclient: download " + e.URL + ": " + e.Reason
	if e.Err != nil && !errors.Is(e.Err, ErrDownloadRefused) {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *DownloadError) Unwrap() error { return e.Err }

// WithDownloadCredentials names the hosts (exact names, as in a URL, port included
// when there is one) that [Client.Download] may send the client's token to. A
// download to any other host, or a redirect to one, goes without it: an attachment's
// URL comes from a customer's message, and a client that sends its token wherever a
// URL points is an open proxy for the token. Only https hosts get it (http only on
// loopback). Default: none.
func WithDownloadCredentials(hosts ...string) Option {
	return func(s *settings) error {
		for i, h := range hosts {
			if h == "" || strings.ContainsAny(h, "/@ ") {
				return &ValidationError{Field: fmt.Sprintf("download credentials host[%d]", i), Rule: "must be a host name (and port)", Value: quoted(h)}
			}
		}
		s.downloadHosts = append(s.downloadHosts, hosts...)
		return nil
	}
}

// Download streams attachment a to w and returns how many bytes it wrote. It reads at
// most a.Size bytes (the size the message declares; [MaxDownloadSize] when it declares
// none) and fails on a longer or a shorter body, follows at most 3 redirects, and
// sends the token only to a host named by [WithDownloadCredentials] over https (or
// http to a loopback host). Each refusal is a [*DownloadError] matching
// [ErrDownloadRefused]. A download is not retried: w has part of it already.
func (c *Client) Download(ctx context.Context, a Attachment, w io.Writer) (int64, error) {
	u, err := url.Parse(a.URL)
	if err != nil || u.Host == "" {
		return 0, &ValidationError{Field: "attachment.url", Rule: "must be an absolute URL", Value: quoted(a.URL)}
	}
	limit := int64(MaxDownloadSize)
	if a.Size > 0 {
		limit = min(a.Size, limit)
	}
	if err := downloadable(u); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, err
	}
	c.credit(req)
	hc := *c.http
	hc.Timeout = 0 // a large file takes its time: the context bounds it
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) > maxDownloadRedirects {
			return &DownloadError{URL: redacted(r.URL), Reason: fmt.Sprintf("more than %d redirects", maxDownloadRedirects), Err: ErrDownloadRefused}
		}
		if err := downloadable(r.URL); err != nil {
			return err
		}
		r.Header.Del(c.auth.header) // Go copies the headers of the request before
		c.credit(r)
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		var de *DownloadError
		if errors.As(err, &de) {
			return 0, de
		}
		return 0, &DownloadError{URL: redacted(u), Reason: "the request failed", Err: c.redactErr(err)}
	}
	defer resp.Body.Close()
	where := redacted(resp.Request.URL)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, &DownloadError{URL: where, StatusCode: resp.StatusCode, Reason: "HTTP " + resp.Status, Err: ErrDownloadRefused}
	}
	if resp.ContentLength > limit {
		return 0, &DownloadError{URL: where, StatusCode: resp.StatusCode, Err: ErrDownloadRefused,
			Reason: fmt.Sprintf("the body is %d bytes, more than the %d the attachment declares", resp.ContentLength, limit)}
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return n, &DownloadError{URL: where, StatusCode: resp.StatusCode, Reason: "reading the body", Err: err}
	case n > limit:
		return limit, &DownloadError{URL: where, StatusCode: resp.StatusCode, Err: ErrDownloadRefused,
			Reason: fmt.Sprintf("the body is longer than the %d bytes the attachment declares", limit)}
	case a.Size > 0 && n < a.Size:
		return n, &DownloadError{URL: where, StatusCode: resp.StatusCode, Err: io.ErrUnexpectedEOF,
			Reason: fmt.Sprintf("the body ended after %d of %d bytes", n, a.Size)}
	}
	return n, nil
}

// downloadable refuses a URL that is neither https nor http to a loopback host.
func downloadable(u *url.URL) error {
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil
	}
	return &DownloadError{URL: redacted(u), Reason: "only https (or http to a loopback host) is downloaded", Err: ErrDownloadRefused}
}

// credit puts the token on r when its host is one the user named, over https (or http
// on loopback); never otherwise.
func (c *Client) credit(r *http.Request) {
	if slices.Contains(c.downloadHosts, r.URL.Host) && downloadable(r.URL) == nil {
		r.Header[c.auth.header] = c.authValue
	}
}

// redactErr keeps the token out of a transport error's text.
func (c *Client) redactErr(err error) error {
	if c.auth.token != "" && strings.Contains(err.Error(), c.auth.token) {
		return errors.New(c.redact(err.Error()))
	}
	return err
}

// redacted is u without its query and user info.
func redacted(u *url.URL) string {
	v := *u
	v.RawQuery, v.ForceQuery, v.User, v.Fragment = "", false, nil, ""
	return v.String()
}
