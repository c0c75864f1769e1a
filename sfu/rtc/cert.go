package rtc

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"hash"
	"time"

	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
)

// engineCert is a DTLS certificate and what offers need of it.
type engineCert struct {
	tls     tls.Certificate
	fp      Fingerprint
	expires time.Time
}

// newEngineCert makes the engine's DTLS certificate: one self-signed ECDSA
// P-256 key for every participant (its fingerprint is in every offer), as
// browsers and pion do per connection but once per engine (selfsign's are
// valid for a month: the engine renews it).
func newEngineCert() (*engineCert, error) {
	c, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, err
	}
	return certOf(c)
}

func certOf(c tls.Certificate) (*engineCert, error) {
	if len(c.Certificate) == 0 {
		return nil, errors.New("rtc: certificate without a certificate chain")
	}
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, err
	}
	fp, err := fingerprintOf(c.Certificate[0], "sha-256")
	if err != nil {
		return nil, err
	}
	return &engineCert{tls: c, fp: fp, expires: x.NotAfter}, nil
}

// fingerprintOf computes the fingerprint of a DER certificate.
func fingerprintOf(der []byte, algorithm string) (Fingerprint, error) {
	var h hash.Hash
	switch algorithm {
	case "sha-256":
		h = sha256.New()
	case "sha-384":
		h = sha512.New384()
	case "sha-512":
		h = sha512.New()
	default:
		return Fingerprint{}, errors.New("rtc: unsupported fingerprint hash " + algorithm)
	}
	h.Write(der)
	return Fingerprint{Algorithm: algorithm, Value: h.Sum(nil)}, nil
}

// checkFingerprint reports whether the peer's certificate (DER) has the
// fingerprint its description announced.
func checkFingerprint(der []byte, want Fingerprint) error {
	got, err := fingerprintOf(der, want.Algorithm)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got.Value, want.Value) != 1 {
		return errors.New("rtc: the peer's DTLS certificate does not match its fingerprint")
	}
	return nil
}
