package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"palabre/client"
)

// writeCert writes a fresh self-signed certificate for 127.0.0.1 with the
// given serial number and returns it.
func writeCert(t *testing.T, dir string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "palabre test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Write then rename, as certificate tools do, so a reader never sees
	// half a file.
	for name, block := range map[string]*pem.Block{
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// With --tls-cert and --tls-key the listener speaks HTTPS: the app, the
// API and the WebSocket work over TLS, and a renewed certificate is served
// without a restart.
func TestHTTPSWithCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, 1)
	url := startTestServerWith(t, func(f *serveFlags) {
		f.net.tlsCert, f.net.tlsKey = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	})
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("server URL %s", url)
	}
	pool := x509.NewCertPool()
	pool.AddCert(first)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "/app/") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("app over HTTPS: %s %q", resp.Status, page)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{HTTPClient: hc})
	if err != nil {
		t.Fatalf("WebSocket over TLS: %v", err)
	}
	if _, err := c.Join(ctx, client.JoinRequest{Room: "secure", Name: "tester"}); err != nil {
		t.Fatalf("join over TLS: %v", err)
	}
	c.Close()

	// Renew the certificate: new connections get the new one.
	time.Sleep(1100 * time.Millisecond) // modification times and the 1 s check
	second := writeCert(t, dir, 2)
	future := time.Now().Add(2 * time.Second)
	os.Chtimes(filepath.Join(dir, "cert.pem"), future, future)
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		got := conn.ConnectionState().PeerCertificates[0].SerialNumber
		conn.Close()
		if got.Cmp(second.SerialNumber) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving certificate %v after renewal", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// --lan serves HTTPS with a self-signed certificate kept in the data
// directory, and the same one after a restart.
func TestLANCertificate(t *testing.T) {
	data := t.TempDir()
	url := startTestServerWith(t, func(f *serveFlags) { f.lan, f.data = true, data })
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("--lan URL %s", url)
	}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	served := fingerprint(conn.ConnectionState().PeerCertificates[0].Raw)
	conn.Close()
	_, again, err := lanCertificate(data)
	if err != nil || again != served {
		t.Errorf("kept certificate %s (%v), served %s", again, err, served)
	}
}

func TestTLSModeErrors(t *testing.T) {
	cases := []struct {
		f    serveFlags
		want string
	}{
		{serveFlags{acmeEmail: "ops@example.org"}, "--public-url https://NAME"},
		{serveFlags{acmeEmail: "ops@example.org", publicURL: "https://203.0.113.5"}, "a DNS name"},
		{serveFlags{acmeEmail: "ops@example.org", lan: true}, "choose one"},
	}
	for _, tc := range cases {
		tc.f.data = t.TempDir()
		if _, _, _, err := serverTLS(tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.f, err, tc.want)
		}
	}
	// A valid ACME setup builds (no certificate is asked for until a
	// browser connects).
	cfg, h80, _, err := serverTLS(serveFlags{acmeEmail: "ops@example.org", publicURL: "https://talk.example.org", data: t.TempDir()})
	if err != nil || cfg == nil || h80 == nil || cfg.GetCertificate == nil {
		t.Errorf("ACME: %v", err)
	}
}
