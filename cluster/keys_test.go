package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ParseKey(k + "\n"); err != nil || len(b) != KeySize {
		t.Fatalf("ParseKey(generated) = %d bytes, %v", len(b), err)
	}
	dir := t.TempDir()
	cases := []struct {
		name, content string
		mode          os.FileMode
		wantErr       string
	}{
		{"good", k + "\n", 0o600, ""},
		{"16 bytes", "MDEyMzQ1Njc4OWFiY2RlZg==", 0o600, ""},
		{"not base64", "not a key!", 0o600, "not base64"},
		{"wrong size", "c2hvcnQ=", 0o600, "5 bytes"},
		{"world readable", k, 0o644, "chmod 600"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tc.mode)
			_, err := ReadKeyFile(path)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("ReadKeyFile = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
	if _, err := ReadKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}
