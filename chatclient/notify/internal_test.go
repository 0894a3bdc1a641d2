package notify

import (
	"errors"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SetWaitingHook has h call f whenever a repeat starts waiting for the run of its
// event that is under way, so that tests know when every repeat is waiting.
func SetWaitingHook(h *Handler, f func()) { h.waiting = f }

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

func TestDedupSet(t *testing.T) {
	assert.Nil(t, newDedup(0))
	key := func(i int) digest { return dedupKey(Other{Type: "X", Raw: []byte{byte(i)}}) }
	d := newDedup(2)

	f, lead := d.begin(key(1))
	require.NotNil(t, f)
	assert.True(t, lead, "the first delivery runs")
	g, lead := d.begin(key(1))
	assert.Same(t, f, g, "a repeat gets the running flight")
	assert.False(t, lead)
	d.finish(key(1), f, errors.New("failed"))
	<-g.done
	assert.EqualError(t, g.err, "failed")

	f, lead = d.begin(key(1))
	assert.True(t, lead, "a failure is not remembered")
	d.finish(key(1), f, nil)
	f, _ = d.begin(key(1))
	assert.Nil(t, f, "a success is")

	for i := 2; i <= 3; i++ { // the first in is the first out
		f, _ = d.begin(key(i))
		d.finish(key(i), f, nil)
	}
	f, lead = d.begin(key(1))
	assert.True(t, lead, "the oldest was forgotten")
	d.finish(key(1), f, nil)
	f, _ = d.begin(key(3))
	assert.Nil(t, f)
	assert.Len(t, d.seen, 2)
	assert.Len(t, d.ring, 2)
	assert.Equal(t, 2, cap(d.ring), "no spare room past the limit")
	assert.Empty(t, d.running)
}

func TestDedupKey(t *testing.T) {
	utc := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	msk := utc.In(time.FixedZone("MSK", 3*3600))
	assert.Equal(t, dedupKey(ChatCreated{1, 2, utc}), dedupKey(ChatCreated{1, 2, msk}))
	assert.NotEqual(t, dedupKey(ChatCreated{1, 2, utc}), dedupKey(ChatArbitrageStarted{1, 2, utc}))
	assert.NotEqual(t, dedupKey(ChatCreated{1, 2, utc}), dedupKey(ChatCreated{1, 3, utc}))
	assert.NotEqual(t, dedupKey(ChatCreated{12, 3, utc}), dedupKey(ChatCreated{1, 23, utc}))
	assert.NotEqual(t, dedupKey(ChatMessageSent{1, 2, "3", utc}), dedupKey(ChatMessageSent{1, 2, "4", utc}))
	assert.Equal(t, dedupKey(ChatMessageSent{1, 2, "3", utc}), dedupKey(ChatMessageSent{1, 2, "3", msk}), "sentAt is not part of the event")
	assert.Equal(t, dedupKey(Other{"X", []byte(`{"a":1}`)}), dedupKey(Other{"X", []byte(`{"a":1}`)}))
	assert.NotEqual(t, dedupKey(Other{"X", []byte(`{"a":1}`)}), dedupKey(Other{"X", []byte(`{"a":2}`)}))
}
