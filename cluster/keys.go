package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of keys made by GenerateKey (AES-256).
const KeySize = 32

// GenerateKey returns a fresh gossip key, base64-encoded as key files hold it.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ParseKey decodes a base64 key of 16, 24 or 32 bytes.
func ParseKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("cluster key is not base64 (make one with `palabre cluster keygen`): %w", err)
	}
	if n := len(b); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("cluster key is %d bytes, want 16, 24 or 32 (make one with `palabre cluster keygen`)", n)
	}
	return b, nil
}

// ReadKeyFile reads a key written by `palabre cluster keygen`. The file
// must not be readable by others: the key lets anyone join the cluster and
// read every room definition.
func ReadKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cluster key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("cluster key file %s is readable by other users (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster key file: %w", err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}
