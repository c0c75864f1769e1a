package rtc

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
)

// The engine's own certificate is renewed a day before it expires; a
// connection keeps the one its offer named; a given certificate is kept.
func TestCertificateRenewal(t *testing.T) {
	e := newTestEngine(t, Config{})
	old, err := e.NewConn(nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	e.certMu.Lock()
	e.cert.expires = time.Now().Add(time.Hour)
	e.certMu.Unlock()
	c, err := e.NewConn(nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	if string(c.cert.fp.Value) == string(old.cert.fp.Value) || time.Until(c.cert.expires) < 7*24*time.Hour {
		t.Fatal("the certificate was not renewed")
	}
	if string(old.Offer(nil).Fingerprint.Value) != string(old.cert.fp.Value) || string(e.Fingerprint().Value) != string(c.cert.fp.Value) {
		t.Fatal("fingerprints mixed up")
	}

	given, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	g := newTestEngine(t, Config{Certificate: &given})
	g.certMu.Lock()
	g.cert.expires = time.Now()
	g.certMu.Unlock()
	gc, err := g.NewConn(nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	if string(gc.cert.tls.Certificate[0]) != string(given.Certificate[0]) {
		t.Fatal("a given certificate was replaced")
	}
	if _, err := NewEngine(Config{Certificate: &tls.Certificate{}}); err == nil {
		t.Fatal("an empty certificate accepted")
	}
}
