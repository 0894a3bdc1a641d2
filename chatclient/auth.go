package chatclient

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Auth is how the client proves who it is: an API-Key token ([APIKey]) or an older
// OAuth token ([OAuthToken]). Its String and GoString never show the token.
type Auth struct {
	header string // "Api-Key" or "Authorization"
	value  string // the header's value; holds the token
	token  string // the token alone, to redact it from text that comes back
}

// APIKey authorizes with an API-Key token made in the seller's account (the current
// scheme), sent as the Api-Key header. It needs the "communication" or "all-methods"
// access ("all-methods:read-only" suffices for getChat and getChats).
func APIKey(token string) Auth {
	t := strings.TrimSpace(token)
	return Auth{header: "Api-Key", value: t, token: t}
}

// OAuthToken authorizes with an OAuth token (the older scheme), sent as
// "Authorization: Bearer <token>".
func OAuthToken(token string) Auth {
	t := strings.TrimSpace(token)
	return Auth{header: "Authorization", value: "Bearer " + t, token: t}
}

// Scheme names the scheme: "Api-Key", "OAuth" or "none".
func (a Auth) Scheme() string {
	switch a.header {
	case "Api-Key":
		return "Api-Key"
	case "Authorization":
		return "OAuth"
	}
	return "none"
}

// String describes the auth without the token, e.g. "Api-Key(redacted)".
func (a Auth) String() string { return a.Scheme() + "(redacted)" }

// GoString is String, so that %#v does not print the token either.
func (a Auth) GoString() string { return "chatclient.Auth{" + a.String() + "}" }

func (a Auth) valid() error {
	switch {
	case a.header == "":
		return &ValidationError{Field: "auth", Rule: "must be chatclient.APIKey(token) or chatclient.OAuthToken(token)", Value: a}
	case a.value == "" || a.value == "Bearer ":
		return &ValidationError{Field: "auth", Rule: "token must not be empty", Value: a}
	case strings.ContainsAny(a.token, "\r\n"):
		return &ValidationError{Field: "auth", Rule: "token must be one line", Value: a}
	}
	for i := 0; i < len(a.token); i++ {
		if b := a.token[i]; b <= ' ' || b >= 0x7f {
			return &ValidationError{Field: "auth", Rule: fmt.Sprintf("token must be printable ASCII without spaces (byte %d is 0x%02x)", i, b), Value: a}
		}
	}
	return nil
}

// sameOrigin reports whether u is the API's own scheme and host, the only place the
// token may go.
func sameOrigin(base, u *url.URL) bool {
	return u.Scheme == base.Scheme && strings.EqualFold(u.Host, base.Host)
}

// keepTokenHome wraps a redirect policy so that a redirect to another origin (another
// host, or plain http) goes without the token. Go's client copies custom headers such as
// Api-Key onto redirects to any host; this takes it off.
func keepTokenHome(base *url.URL, a Auth, next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(base, req.URL) {
			req.Header.Del(a.header)
		}
		if next != nil {
			err := next(req, via)
			if err != nil && !errors.Is(err, http.ErrUseLastResponse) {
				err = &redirectError{err}
			}
			return err
		}
		if len(via) >= 10 {
			return &redirectError{errors.New("stopped after 10 redirects")}
		}
		return nil
	}
}

// checkBaseURL parses the API's base URL: https, or http only to a loopback host, so
// that the token never crosses a network in the clear.
func checkBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, &ValidationError{Field: "base URL", Rule: "must be an absolute http(s) URL", Value: raw}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &ValidationError{Field: "base URL", Rule: "must not carry user info, a query or a fragment", Value: u.Redacted()}
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, &ValidationError{Field: "base URL", Rule: "plain http is allowed only to a loopback host; use https", Value: raw}
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
