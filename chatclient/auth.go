package chatclient

import (
	"errors"
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
}

// APIKey authorizes with an API-Key token made in the seller's account (the current
// scheme), sent as the Api-Key header. It needs the "communication" or "all-methods"
// access ("all-methods:read-only" suffices for getChat and getChats).
func APIKey(token string) Auth {
	return Auth{header: "Api-Key", value: strings.TrimSpace(token)}
}

// OAuthToken authorizes with an OAuth token (the older scheme), sent as
// "Authorization: Bearer <token>".
func OAuthToken(token string) Auth {
	return Auth{header: "Authorization", value: "Bearer " + strings.TrimSpace(token)}
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
	case strings.ContainsAny(a.value, "\r\n"):
		return &ValidationError{Field: "auth", Rule: "token must be one line", Value: a}
	}
	return nil
}

// authTransport adds the token to requests for the API's own scheme and host, and to
// nothing else: a redirect to another host, or to plain HTTP, goes without it.
type authTransport struct {
	base   http.RoundTripper
	scheme string
	host   string
	auth   Auth
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == t.scheme && strings.EqualFold(r.URL.Host, t.host) {
		r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
		r.Header.Set(t.auth.header, t.auth.value)
	}
	return t.base.RoundTrip(r)
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

var errNoCall = errors.New("chatclient: request did not come through the client")
