package notify

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		remote string
		xff    []string
		want   string // "" when no address
	}{
		{"5.45.207.1:443", nil, "5.45.207.1"},
		{"5.45.207.1:443", []string{"1.2.3.4"}, "5.45.207.1"}, // untrusted peer: header ignored
		{"[::ffff:5.45.207.1]:443", nil, "5.45.207.1"},
		{"[fe80::1%eth0]:443", nil, "fe80::1"},
		{"10.0.0.1:1", []string{"5.45.207.1"}, "5.45.207.1"},
		{"[fd00::1]:1", []string{"5.45.207.1, 10.0.0.2", "fd00::2"}, "5.45.207.1"},
		{"10.0.0.1:1", []string{"5.45.207.1:5555"}, "5.45.207.1"},
		{"10.0.0.1:1", []string{"2a02:6b8::1"}, "2a02:6b8::1"},
		{"10.0.0.1:1", []string{"5.45.207.1,, "}, "5.45.207.1"},
		{"10.0.0.1:1", []string{"10.0.0.3"}, "10.0.0.3"}, // all trusted: the leftmost hop
		{"10.0.0.1:1", nil, "10.0.0.1"},
		{"10.0.0.1:1", []string{"junk"}, ""},
		{"not an address", nil, ""},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		a, ok := clientAddr(r, trusted)
		if c.want == "" {
			assert.False(t, ok, "%+v", c)
			continue
		}
		assert.True(t, ok, "%+v", c)
		assert.Equal(t, c.want, a.String(), "%+v", c)
	}
}

func TestSeenSetLRU(t *testing.T) {
	var none *seenSet
	none.add("a")
	assert.False(t, none.contains("a"))
	assert.Nil(t, newSeenSet(0))

	s := newSeenSet(2)
	s.add("a")
	s.add("b")
	assert.True(t, s.contains("a")) // a is now the most recent
	s.add("c")                      // evicts b
	assert.True(t, s.contains("a"))
	assert.False(t, s.contains("b"))
	assert.True(t, s.contains("c"))
	s.add("c")
	assert.Equal(t, 2, s.order.Len())
}

func TestDedupKeyIgnoresOffsets(t *testing.T) {
	utc := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	msk := utc.In(time.FixedZone("MSK", 3*3600))
	assert.Equal(t, dedupKey(ChatCreated{1, 2, utc}), dedupKey(ChatCreated{1, 2, msk}))
	assert.NotEqual(t, dedupKey(ChatCreated{1, 2, utc}), dedupKey(ChatArbitrageStarted{1, 2, utc}))
	assert.NotEqual(t, dedupKey(ChatCreated{1, 2, utc}), dedupKey(ChatCreated{1, 3, utc}))
	assert.Equal(t, dedupKey(Other{"X", []byte(`{"a":1}`)}), dedupKey(Other{"X", []byte(`{"a":1}`)}))
	assert.NotEqual(t, dedupKey(Other{"X", []byte(`{"a":1}`)}), dedupKey(Other{"X", []byte(`{"a":2}`)}))
}

func TestModuleVersion(t *testing.T) {
	v := moduleVersion()
	assert.NotEmpty(t, v)
	assert.LessOrEqual(t, len(v), 100)
}
