package turn

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// SecretFile is the name of the secret file in the data directory.
const SecretFile = "turn-secret"

// secretLen is the size of a generated secret; an operator may put a
// secret of their own, of MinSecretLen to maxSecretLen bytes, in the file.
const (
	secretLen    = 32
	maxSecretLen = 4096
)

// LoadOrCreateSecret returns the TURN shared secret kept in dir/turn-secret
// (32 random bytes, mode 0600), creating it on first use (and dir, 0700). Creation is
// atomic: two processes starting together end up with the same secret. A
// file readable by group or others, or of an unusable size, is an error
// rather than something to silently repair. For a cluster, copy the file to
// every node.
func LoadOrCreateSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, SecretFile)
	secret, err := readSecret(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	secret = make([]byte, secretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	// Write a temporary file, then link it into place: the secret appears
	// complete or not at all, and an existing one is never replaced.
	tmp, err := os.CreateTemp(dir, SecretFile+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	if _, err := tmp.Write(secret); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readSecret(path) // someone else won the race
		}
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	return secret, nil
}

func readSecret(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("turn: secret %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("turn: secret %s is accessible by others (mode %v), want 0600", path, fi.Mode().Perm())
	}
	secret, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("turn: secret: %w", err)
	}
	if len(secret) < MinSecretLen || len(secret) > maxSecretLen {
		return nil, fmt.Errorf("turn: secret %s has %d bytes, want %d to %d", path, len(secret), MinSecretLen, maxSecretLen)
	}
	return secret, nil
}
