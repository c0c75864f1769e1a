package server

import "testing"

// A valid ACME setup builds: a TLS configuration that gets certificates,
// and the HTTP-01 handler for port 80 (nothing is asked of Let's Encrypt
// until a browser connects).
func TestACMEConfig(t *testing.T) {
	o := Defaults()
	o.DataDir = t.TempDir()
	o.TLS.ACMEEmail, o.PublicURL = "ops@example.org", "https://talk.example.org"
	o, err := o.Effective()
	if err != nil {
		t.Fatal(err)
	}
	cfg, h80, _, err := serverTLS(o)
	if err != nil || cfg == nil || h80 == nil || cfg.GetCertificate == nil {
		t.Errorf("ACME: %v", err)
	}
}
