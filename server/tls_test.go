package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
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
	"palabre/internal/testkit"
	"palabre/internal/testkit/testserver"
	"palabre/server"
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

// With certificate files the listener speaks HTTPS: the app, the API and
// the WebSocket work over TLS, and a renewed certificate is served without
// a restart.
func TestHTTPSWithCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, 1)
	s := testserver.Start(t, func(o *server.Options) {
		o.TLS.CertFile, o.TLS.KeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	})
	url := s.URL
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

	// Renew the certificate: new connections get the new one. The files
	// are dated in the future so that the change shows whatever the
	// file system's clock granularity; the server looks at most once a
	// second.
	second := writeCert(t, dir, 2)
	future := time.Now().Add(2 * time.Second)
	os.Chtimes(filepath.Join(dir, "cert.pem"), future, future)
	testkit.EventuallyNil(t, 5*time.Second, func() error {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return err
		}
		got := conn.ConnectionState().PeerCertificates[0].SerialNumber
		conn.Close()
		if got.Cmp(second.SerialNumber) != 0 {
			return fmt.Errorf("still serving certificate %v after renewal", got)
		}
		return nil
	})
}

// The LAN mode serves HTTPS with a self-signed certificate kept in the
// data directory, and the same one after a restart.
func TestLANCertificate(t *testing.T) {
	s := testserver.Start(t, func(o *server.Options) { o.TLS.LAN = true })
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("LAN URL %s", s.URL)
	}
	served := func() string {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
		return strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum), " ", ":"))
	}
	first := served()
	if s.Node.Fingerprint() != first {
		t.Errorf("Fingerprint() = %s, served %s", s.Node.Fingerprint(), first)
	}
	s.Restart(t)
	if again := served(); again != first {
		t.Errorf("after a restart the certificate is %s, was %s", again, first)
	}
}
