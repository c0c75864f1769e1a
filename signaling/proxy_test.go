package signaling_test

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// /readyz is 200 while the server takes participants, 503 once it closes.
func TestReadyz(t *testing.T) {
	ts := startServer(t)
	get := func() int {
		resp, err := http.Get(ts.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("readyz %d, want 200", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Signaling.Close(ctx); err != nil { // the HTTP server still serves
		t.Fatal(err)
	}
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("readyz while closing %d, want 503", code)
	}
}
