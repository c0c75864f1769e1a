package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The room commands against a running server, with an admin token; a
// wrong token is refused with a clear error and a non-zero exit.
func TestAdminRoomCommands(t *testing.T) {
	data := t.TempDir()
	url := startTestServerWith(t, func(f *serveFlags) { f.o.DataDir = data })
	runOK := func(stdin string, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(args, strings.NewReader(stdin), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		return out.String()
	}

	// palabre admin token writes the hash next to the server's data.
	token := strings.TrimSpace(runOK("", "admin", "token", "--data", data))
	tokenFile := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stored, _ := os.ReadFile(filepath.Join(data, "admin-tokens"))
	if strings.Contains(string(stored), token) {
		t.Error("the admin token is stored in clear")
	}
	admin := []string{"--server", url, "--admin-token-file", tokenFile}

	runOK("", "room", "create", "council", "--mode", "open", "--server", url)
	if out := runOK("", append([]string{"room", "list"}, admin...)...); !strings.Contains(out, "council") || !strings.Contains(out, "open") {
		t.Errorf("room list:\n%s", out)
	}
	runOK("", append([]string{"room", "set-mode", "council", "moderated"}, admin...)...)
	runOK("new password\n", append([]string{"room", "set-password", "council", "--password-stdin"}, admin...)...)
	if out := runOK("", "room", "show", "council", "--server", url); !strings.Contains(out, "moderated") || !strings.Contains(out, "password:      yes") {
		t.Errorf("after set-mode and set-password:\n%s", out)
	}
	runOK("", append([]string{"room", "delete", "council"}, admin...)...)
	if out := runOK("", append([]string{"room", "list"}, admin...)...); strings.Contains(out, "council") {
		t.Errorf("deleted room still listed:\n%s", out)
	}

	// A wrong token: clear error, exit 1.
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("not-a-token"), 0o600)
	var out, errOut bytes.Buffer
	if code := run([]string{"room", "list", "--server", url, "--admin-token-file", bad}, nil, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "admin token") {
		t.Errorf("wrong token: exit %d, %q", code, errOut.String())
	}
	// No token at all.
	t.Setenv("PALABRE_ADMIN_TOKEN", "")
	errOut.Reset()
	if code := run([]string{"room", "list", "--server", url}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "palabre admin token") {
		t.Errorf("no token: exit %d, %q", code, errOut.String())
	}
	// Unreachable server.
	errOut.Reset()
	if code := run([]string{"room", "list", "--server", "http://127.0.0.1:1", "--admin-token-file", tokenFile}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "cannot reach the server") {
		t.Errorf("unreachable server: exit %d, %q", code, errOut.String())
	}
}
