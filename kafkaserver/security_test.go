package kafkaserver

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "brook-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func saslAuth(c *client, user, password string) (int16, int16) {
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Mechanism = "PLAIN"
	hr := do[*kmsg.SASLHandshakeResponse](c, 1, hs)
	if hr.ErrorCode != errNone {
		return hr.ErrorCode, errNone
	}
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.SASLAuthBytes = []byte("\x00" + user + "\x00" + password)
	return hr.ErrorCode, do[*kmsg.SASLAuthenticateResponse](c, 1, auth).ErrorCode
}

func TestTLSAndSASLPlain(t *testing.T) {
	cert, pool := selfSigned(t)
	check := func(user, password string) bool { return user == "alice" && password == "secret" }
	_, _, addr := startServer(t, &Options{
		TLS:       &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		SASLPlain: check,
	})
	dialTLS := func() *client {
		nc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
		require.NoError(t, err)
		t.Cleanup(func() { nc.Close() })
		return &client{t: t, nc: nc, br: bufio.NewReader(nc), id: "tls"}
	}

	c := dialTLS()
	av := do[*kmsg.ApiVersionsResponse](c, 3, kmsg.NewPtrApiVersionsRequest())
	keys := map[int16]bool{}
	for _, k := range av.ApiKeys {
		keys[k.ApiKey] = true
	}
	assert.True(t, keys[saslHandshakeKey] && keys[saslAuthenticateKey], "SASL APIs are advertised when configured")
	hs, auth := saslAuth(c, "alice", "secret")
	require.Equal(t, errNone, hs)
	require.Equal(t, errNone, auth)
	md := do[*kmsg.MetadataResponse](c, 9, kmsg.NewPtrMetadataRequest())
	assert.Len(t, md.Brokers, 1)

	bad := dialTLS()
	_, auth = saslAuth(bad, "alice", "wrong")
	assert.Equal(t, errSASLAuthenticationFailed, auth)
	assert.True(t, bad.closed())

	early := dialTLS()
	early.send(kmsg.NewPtrMetadataRequest())
	assert.True(t, early.closed(), "a request before authentication closes the connection")

	// Plaintext on a TLS listener goes nowhere.
	plain := dial(t, addr)
	plain.send(kmsg.NewPtrApiVersionsRequest())
	assert.True(t, plain.closed())
}
