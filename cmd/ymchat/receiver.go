package main

import (
	"crypto/tls"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient/notify"
)

// receiverFlags are the flags of a receiver of the Market's pushes: who may call it,
// which reverse proxies are believed about the caller, and the certificate to serve
// HTTPS with. listen and inbox --listen take the same ones, so that a receiver is set
// up the same way whichever command runs it.
type receiverFlags struct {
	allow, trusted  []string
	marketOnly      bool
	tlsCert, tlsKey string
}

// define adds the flags to cmd.
func (f *receiverFlags) define(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.allow, "allow-ip", nil, `accept only callers in these networks (CIDR or address; "market": the Market's)`)
	fl.BoolVar(&f.marketOnly, "market-only", false, "accept only the Market's networks (same as --allow-ip market)")
	fl.StringSliceVar(&f.trusted, "trusted-proxy", nil, "reverse proxies (CIDR or address) whose X-Forwarded-For is believed")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate chain (PEM); needs --tls-key")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the private key (PEM) for --tls-cert")
	cmd.MarkFlagsRequiredTogether("tls-cert", "tls-key")
}

// given names the first of the flags that was given a value, or is "" when none was:
// a command that serves only along with another flag refuses them without it.
func (f *receiverFlags) given() string {
	switch {
	case len(f.allow) > 0:
		return "--allow-ip"
	case f.marketOnly:
		return "--market-only"
	case len(f.trusted) > 0:
		return "--trusted-proxy"
	case f.tlsCert != "":
		return "--tls-cert"
	case f.tlsKey != "":
		return "--tls-key"
	}
	return ""
}

// receiver is what the flags make of a receiver.
type receiver struct {
	// options restrict the notify handler to the allowed networks and name the
	// trusted proxies; none when every caller is accepted.
	options []notify.Option
	// tls serves HTTPS; nil serves plain HTTP.
	tls *tls.Config
	// open is set when every caller is accepted.
	open bool
}

// build checks the flags and makes the receiver: a usage error names the flag at
// fault.
func (f *receiverFlags) build() (receiver, error) {
	allowed, err := prefixes("--allow-ip", f.allow, true)
	if err != nil {
		return receiver{}, err
	}
	if f.marketOnly {
		allowed = append(allowed, notify.MarketNetworks...)
	}
	trusted, err := prefixes("--trusted-proxy", f.trusted, false)
	if err != nil {
		return receiver{}, err
	}
	r := receiver{open: len(allowed) == 0}
	if len(allowed) > 0 {
		r.options = append(r.options, notify.WithAllowedNetworks(allowed...))
	}
	if len(trusted) > 0 {
		r.options = append(r.options, notify.WithTrustedProxies(trusted...))
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return receiver{}, usagef("--tls-cert/--tls-key: %v", err)
		}
		r.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return r, nil
}

// started is what to do once the receiver listens: warn, when every caller is
// accepted, that anyone who finds the address can make up pushes.
func (r receiver) started(logger *slog.Logger) func() {
	return func() {
		if r.open {
			logger.Warn("accepting notifications from any address; see --allow-ip market")
		}
	}
}

// prefixes parses CIDRs or bare addresses; "market" (when allowed) stands for
// notify.MarketNetworks.
func prefixes(flag string, values []string, market bool) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		v = strings.TrimSpace(v)
		if market && strings.EqualFold(v, "market") {
			out = append(out, notify.MarketNetworks...)
			continue
		}
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, usagef("invalid %s %q: want a CIDR such as 10.0.0.0/8 or an address", flag, v)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
