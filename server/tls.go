package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// serverTLS chooses how the listener speaks TLS: certificate files, ACME,
// a self-signed LAN certificate, or not at all (nil: plain HTTP, for
// localhost or behind a reverse proxy). The handler, if any, must be
// served on port 80 for ACME's HTTP-01 challenge; the string is the LAN
// certificate's fingerprint. Effective has checked the combination.
func serverTLS(o Options) (*tls.Config, http.Handler, string, error) {
	switch {
	case o.TLS.CertFile != "":
		certs, err := newCertReloader(o.TLS.CertFile, o.TLS.KeyFile)
		if err != nil {
			return nil, nil, "", &SettingError{Setting: "TLS.CertFile", Value: o.TLS.CertFile, Err: err}
		}
		return certs.tlsConfig(), nil, "", nil
	case o.TLS.ACMEEmail != "":
		u, _ := url.Parse(o.PublicURL)
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Email:      o.TLS.ACMEEmail,
			HostPolicy: autocert.HostWhitelist(u.Hostname()),
			Cache:      autocert.DirCache(filepath.Join(o.DataDir, "acme")),
		}
		cfg := m.TLSConfig() // TLS-ALPN-01 on the listener itself
		cfg.MinVersion = tls.VersionTLS12
		return cfg, m.HTTPHandler(nil), "", nil
	case o.TLS.LAN:
		cert, fingerprint, err := lanCertificate(o.DataDir)
		if err != nil {
			return nil, nil, "", &SettingError{Setting: "DataDir", Value: o.DataDir, Err: err}
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil, fingerprint, nil
	}
	return nil, nil, "", nil
}

// lanCertificate returns the self-signed certificate of --lan, made once
// and kept in the data directory, for this machine's name and addresses,
// with its SHA-256 fingerprint for people to compare in their browser.
func lanCertificate(dir string) (tls.Certificate, string, error) {
	certFile, keyFile := filepath.Join(dir, "lan-cert.pem"), filepath.Join(dir, "lan-key.pem")
	if cert, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && cert.Leaf != nil && time.Now().Before(cert.Leaf.NotAfter.Add(-24*time.Hour)) {
		return cert, fingerprint(cert.Leaf.Raw), nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "Palabre on " + host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
	}
	if host != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, host, host+".local")
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ipn.IP)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return tls.Certificate{}, "", err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, "", err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	return cert, fingerprint(der), err
}

// fingerprint is the SHA-256 of a certificate as browsers show it.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
