package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "palabre.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Precedence: flag > env > file > default, for plain and repeatable settings.
func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `# a comment
listen = "127.0.0.1:9000"
slots = 5
join-rate = 2.5
adhoc-rooms = false
public-ip = ["198.51.100.7", "2001:db8::7"]
log-level = "warn"
`)
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		setting string
		want    string
		from    string
	}{
		{"default", nil, nil, "data", "palabre-data", "default"},
		{"file", nil, nil, "slots", "5", "file"},
		{"file float", nil, nil, "join-rate", "2.5", "file"},
		{"file bool", nil, nil, "adhoc-rooms", "false", "file"},
		{"file array", nil, nil, "public-ip", "198.51.100.7,2001:db8::7", "file"},
		{"env beats file", nil, map[string]string{"PALABRE_SLOTS": "4"}, "slots", "4", "env"},
		{"flag beats env", []string{"--slots", "2"}, map[string]string{"PALABRE_SLOTS": "4"}, "slots", "2", "flag"},
		{"env list", nil, map[string]string{"PALABRE_TRUSTED_PROXY": "10.0.0.0/8, 192.168.0.0/16"}, "trusted-proxy", "10.0.0.0/8,192.168.0.0/16", "env"},
		{"env without file key", nil, map[string]string{"PALABRE_TURN_SECRET": "s3cr3t-s3cr3t-s3cr3t"}, "turn-secret", "s3cr3t-s3cr3t-s3cr3t", "env"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, _ := newServeFlags(io.Discard)
			if err := fs.Parse(append([]string{"--config", file}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			source, err := applyConfig(fs, file, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.Lookup(tc.setting).Value.String(); got != tc.want || source[tc.setting] != tc.from {
				t.Errorf("%s = %q from %s, want %q from %s", tc.setting, got, source[tc.setting], tc.want, tc.from)
			}
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"unknown key names its line", "slots = 3\n\nlisten-adress = \"x\"\n", `palabre.toml:3: unknown setting "listen-adress"`},
		{"tables are refused", "slots = 3\n[turn]\nport = 3478\n", "palabre.toml:2: turn: tables are not used"},
		{"unknown table", "[cluster]\nnodes = 3\n", `palabre.toml:1: unknown setting "cluster"`},
		{"syntax error has a position", "slots = = 3\n", "palabre.toml:1:"},
		{"bad value", "slots = \"many\"\n", "slots from file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfig(t, tc.text)
			fs, _ := newServeFlags(io.Discard)
			_, err := applyConfig(fs, file, func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestConfigShowMasksSecrets(t *testing.T) {
	file := writeConfig(t, "turn-secret = \"do-not-print-me-please\"\ncreate-token = \"nor-me\"\nslots = 4\n")
	var out, errOut bytes.Buffer
	if code := run([]string{"config", "show", "--config", file, "--listen", "127.0.0.1:9999"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	s := out.String()
	if strings.Contains(s, "do-not-print-me") || strings.Contains(s, "nor-me") {
		t.Errorf("config show prints secrets:\n%s", s)
	}
	for _, want := range []string{"turn-secret", "********", "slots", "file", "127.0.0.1:9999", "flag", "default"} {
		if !strings.Contains(s, want) {
			t.Errorf("config show lacks %q:\n%s", want, s)
		}
	}
}
