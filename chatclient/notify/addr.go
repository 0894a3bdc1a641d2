package notify

import (
	"net/http"
	"net/netip"
	"strings"
)

func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr returns the address to check against the allowed networks: the direct
// peer, or, when the peer is a trusted proxy, the rightmost X-Forwarded-For entry
// that is not a trusted proxy. ok is false when no valid address is found.
func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	var a netip.Addr
	if err == nil {
		a = peer.Addr()
	} else if a, err = netip.ParseAddr(r.RemoteAddr); err != nil {
		return netip.Addr{}, false
	}
	a = a.Unmap().WithZone("")
	if len(trusted) == 0 || !contains(trusted, a) {
		return a, true
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		parts := strings.Split(values[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			s := strings.TrimSpace(parts[j])
			if s == "" {
				continue
			}
			hop, err := netip.ParseAddr(s)
			if err != nil {
				if ap, err2 := netip.ParseAddrPort(s); err2 == nil {
					hop = ap.Addr()
				} else {
					return netip.Addr{}, false
				}
			}
			hop = hop.Unmap().WithZone("")
			if !contains(trusted, hop) {
				return hop, true
			}
			a = hop
		}
	}
	// Every hop is a trusted proxy: the request started inside; check the last one.
	return a, true
}
