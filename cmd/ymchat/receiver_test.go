package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ymchat/ymchat/chatclient/notify"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files, for
// --tls-cert and --tls-key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "chain.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}

// pingFrom is the status a handler guarded by r answers a PING from remote with, an
// X-Forwarded-For of forwarded when it is not empty.
func pingFrom(t *testing.T, r receiver, remote, forwarded string) int {
	t.Helper()
	h, err := notify.NewHandler(r.options...)
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/notification",
		strings.NewReader(`{"notificationType":"PING","time":"2026-11-22T09:00:00Z"}`))
	req.RemoteAddr = remote + ":40000"
	if forwarded != "" {
		req.Header.Set("X-Forwarded-For", forwarded)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

func TestReceiverAcceptsOnlyTheAllowedCallers(t *testing.T) {
	market := notify.MarketNetworks[0].Addr().String()
	for _, tc := range []struct {
		name              string
		flags             receiverFlags
		remote, forwarded string
		want              int
	}{
		{"no flags: anyone", receiverFlags{}, "203.0.113.9", "", 200},
		{"an allowed address", receiverFlags{allow: []string{"203.0.113.0/24"}}, "203.0.113.9", "", 200},
		{"a bare address", receiverFlags{allow: []string{"203.0.113.9"}}, "203.0.113.9", "", 200},
		{"outside the allowed network", receiverFlags{allow: []string{"203.0.113.0/24"}}, "198.51.100.1", "", 403},
		{"market only: the Market", receiverFlags{marketOnly: true}, market, "", 200},
		{"market only: anyone else", receiverFlags{marketOnly: true}, "203.0.113.9", "", 403},
		{"--allow-ip market", receiverFlags{allow: []string{"market"}}, market, "", 200},
		{"a forwarded header without a trusted proxy is not believed", receiverFlags{marketOnly: true}, "127.0.0.1", market, 403},
		{"behind a trusted proxy: the Market", receiverFlags{marketOnly: true, trusted: []string{"127.0.0.1"}}, "127.0.0.1", market, 200},
		{"behind a trusted proxy: anyone else", receiverFlags{marketOnly: true, trusted: []string{"127.0.0.1"}}, "127.0.0.1", "203.0.113.9", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.flags.build()
			require.NoError(t, err)
			assert.Equal(t, tc.want, pingFrom(t, r, tc.remote, tc.forwarded))
			assert.Equal(t, len(tc.flags.allow) == 0 && !tc.flags.marketOnly, r.open, "open only when nothing is allowed")
		})
	}
}

func TestReceiverServesHTTPSWithTheGivenCertificate(t *testing.T) {
	cert, key := selfSigned(t)
	r, err := (&receiverFlags{tlsCert: cert, tlsKey: key}).build()
	require.NoError(t, err)
	require.NotNil(t, r.tls)
	assert.Len(t, r.tls.Certificates, 1)
	assert.GreaterOrEqual(t, r.tls.MinVersion, uint16(0x0303), "TLS 1.2 at least")

	r, err = (&receiverFlags{}).build()
	require.NoError(t, err)
	assert.Nil(t, r.tls, "plain HTTP without --tls-cert")
}

func TestReceiverErrorsNameTheFlag(t *testing.T) {
	cert, _ := selfSigned(t)
	for _, tc := range []struct {
		flags receiverFlags
		want  string
	}{
		{receiverFlags{allow: []string{"10.0.0.0/33"}}, `invalid --allow-ip "10.0.0.0/33"`},
		{receiverFlags{trusted: []string{"market"}}, `invalid --trusted-proxy "market"`},
		{receiverFlags{tlsCert: "/nonexistent.pem", tlsKey: "/nonexistent.key"}, "--tls-cert/--tls-key: open /nonexistent.pem"},
		{receiverFlags{tlsCert: cert, tlsKey: cert}, "--tls-cert/--tls-key: "},
	} {
		_, err := tc.flags.build()
		var ue usageError
		require.ErrorAs(t, err, &ue, tc.want)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestReceiverFlagsSayWhichWasGiven(t *testing.T) {
	assert.Empty(t, (&receiverFlags{}).given())
	assert.Equal(t, "--allow-ip", (&receiverFlags{allow: []string{"market"}}).given())
	assert.Equal(t, "--market-only", (&receiverFlags{marketOnly: true}).given())
	assert.Equal(t, "--trusted-proxy", (&receiverFlags{trusted: []string{"127.0.0.1"}}).given())
	assert.Equal(t, "--tls-cert", (&receiverFlags{tlsCert: "c.pem", tlsKey: "k.pem"}).given())
	assert.Equal(t, "--tls-key", (&receiverFlags{tlsKey: "k.pem"}).given())
}
