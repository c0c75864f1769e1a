package server_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The seams between packages, checked on the real import graph (go list):
// no package that is built into the binary imports the test kit, and the
// parts that signaling glues together do not import each other or
// signaling.
func TestImportGraph(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "palabre/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[f[0]] = f[1:]
	}
	if len(imports["palabre/server"]) == 0 {
		t.Fatalf("go list output has no palabre/server:\n%s", out)
	}
	parts := []string{"palabre/rooms", "palabre/sfu", "palabre/turn", "palabre/cluster", "palabre/admission"}
	for pkg, deps := range imports {
		testOnly := strings.HasPrefix(pkg, "palabre/internal/testkit") || pkg == "palabre/e2e"
		for _, d := range deps {
			if !testOnly && strings.HasPrefix(d, "palabre/internal/testkit") {
				t.Errorf("%s imports %s: the test kit is for tests only", pkg, d)
			}
		}
	}
	for _, p := range parts {
		for _, d := range imports[p] {
			for _, q := range append(parts, "palabre/signaling", "palabre/server") {
				if q == p {
					continue // a part's own packages (sfu/vp8, sfu/rtc) are its own business
				}
				if d == q || strings.HasPrefix(d, q+"/") {
					t.Errorf("%s imports %s: the parts meet only in signaling", p, d)
				}
			}
		}
	}
	for _, d := range imports["palabre/internal/testkit"] {
		if strings.HasPrefix(d, "palabre/") {
			t.Errorf("palabre/internal/testkit imports %s: it must stay a leaf, for every package's internal tests", d)
		}
	}
	// Nothing below server imports it: it is the top of the server.
	for pkg, deps := range imports {
		for _, d := range deps {
			if d == "palabre/server" && pkg != "palabre/cmd/palabre" && !strings.HasPrefix(pkg, "palabre/internal/testkit") {
				t.Errorf("%s imports palabre/server: only the command and the test kit start servers", pkg)
			}
		}
	}
}
