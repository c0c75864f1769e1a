package signaling

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

type hijackable struct{ http.ResponseWriter }

func (hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) { return nil, nil, nil }

type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// Only a writer that can be hijacked (itself or one it wraps) gets the
// small buffers; another one (an HTTP/2 stream's) stays as it is, so the
// WebSocket library refuses it as before.
func TestWithSmallBuffers(t *testing.T) {
	rec := httptest.NewRecorder()
	if w := withSmallBuffers(rec); w != http.ResponseWriter(rec) {
		t.Errorf("a writer that cannot be hijacked became %T", w)
	}
	if w := withSmallBuffers(unwrapper{rec}); w != (http.ResponseWriter(unwrapper{rec})) {
		t.Errorf("a wrapper of one that cannot be hijacked became %T", w)
	}
	for _, w := range []http.ResponseWriter{hijackable{rec}, unwrapper{hijackable{rec}}} {
		if _, ok := withSmallBuffers(w).(smallBuffers); !ok {
			t.Errorf("%T did not get the small buffers", w)
		}
	}
}
