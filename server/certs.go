package server

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certReloader serves a certificate from files and picks up new files
// without a restart: at a handshake, if the files changed (checked at most
// once a second), it loads them again. A broken new pair is logged by the
// caller's handshake error and the old certificate stays in use.
type certReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// load reads the pair; the caller holds mu or owns r.
func (r *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("cannot load the certificate and its key: %w", err)
	}
	r.cert, r.modTime = &cert, r.lastChange()
	return nil
}

func (r *certReloader) lastChange() time.Time {
	var latest time.Time
	for _, f := range []string{r.certFile, r.keyFile} {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(latest) {
			latest = st.ModTime()
		}
	}
	return latest
}

// GetCertificate is for tls.Config.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= time.Second {
		r.checked = now
		if r.lastChange() != r.modTime {
			old := r.cert
			if err := r.load(); err != nil {
				r.cert = old // keep serving the old pair
				r.modTime = r.lastChange()
			}
		}
	}
	return r.cert, nil
}

func (r *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12}
}
