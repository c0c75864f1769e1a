package rtc

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"hash"

	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
)

// newCertificate makes the engine's DTLS certificate: one self-signed ECDSA
// P-256 key for every participant (its fingerprint is in every offer), as
// browsers and pion do per connection but once per engine.
func newCertificate() (tls.Certificate, error) {
	return selfsign.GenerateSelfSigned()
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
