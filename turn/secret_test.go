package turn

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created on demand
	s1, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s1) != 32 || bytes.Equal(s1, make([]byte, 32)) {
		t.Fatalf("secret %x", s1)
	}
	fi, err := os.Stat(filepath.Join(dir, SecretFile))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	s2, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1, s2) {
		t.Error("second call made a new secret")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want just the secret", len(entries))
	}
	cfg := testConfig()
	cfg.Secret = s1
	startServer(t, cfg)
}

func TestLoadOrCreateSecretConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	secrets := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := LoadOrCreateSecret(dir)
			if err != nil {
				t.Error(err)
			}
			secrets[i] = s
		})
	}
	wg.Wait()
	for i := range secrets {
		if !bytes.Equal(secrets[i], secrets[0]) {
			t.Fatal("concurrent callers got different secrets")
		}
	}
}

func TestLoadOrCreateSecretRefuses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	cases := []struct {
		name    string
		content []byte
		mode    os.FileMode
		want    string
	}{
		{"readable by others", bytes.Repeat([]byte{1}, 32), 0o644, "accessible by others"},
		{"readable by group", bytes.Repeat([]byte{1}, 32), 0o640, "accessible by others"},
		{"too short", []byte("short"), 0o600, "bytes"},
		{"empty", nil, 0o600, "bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, SecretFile)
			if err := os.WriteFile(path, c.content, c.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateSecret(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one mentioning %q", err, c.want)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, c.content) {
				t.Error("the file was changed")
			}
		})
	}
	// A secret of the operator's own is accepted.
	dir := t.TempDir()
	own := []byte("a passphrase chosen by the operator\n")
	if err := os.WriteFile(filepath.Join(dir, SecretFile), own, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadOrCreateSecret(dir); err != nil || !bytes.Equal(got, own) {
		t.Errorf("operator's secret: %q, %v", got, err)
	}
}
