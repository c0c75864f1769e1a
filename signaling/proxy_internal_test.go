package signaling

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// The client address and scheme behind reverse proxies. An internal test:
// the cases need remote addresses (203.0.113.7, 10.0.0.2) that a real
// connection over loopback cannot have.
func TestClientIPBehindProxies(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	}}}
	cases := []struct {
		name, remote, xff, proto string
		wantIP, wantScheme       string
	}{
		{"direct client", "203.0.113.7:5000", "", "", "203.0.113.7", "http"},
		{"untrusted peer lies", "203.0.113.7:5000", "198.51.100.1", "https", "203.0.113.7", "http"},
		{"trusted proxy", "10.0.0.2:5000", "198.51.100.1", "https", "198.51.100.1", "https"},
		{"client forges a hop before the proxy", "10.0.0.2:5000", "1.2.3.4, 198.51.100.1", "", "198.51.100.1", "http"},
		{"two trusted proxies", "10.0.0.2:5000", "198.51.100.1, 10.0.0.9", "", "198.51.100.1", "http"},
		{"trusted proxy, no header", "[::1]:5000", "", "", "::1", "http"},
		{"garbage header", "10.0.0.2:5000", "not-an-ip", "", "10.0.0.2", "http"},
		{"IPv4-mapped", "[::ffff:10.0.0.2]:5000", "192.0.2.9", "", "192.0.2.9", "http"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ws", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if got := s.clientIP(r).String(); got != tc.wantIP {
				t.Errorf("clientIP = %s, want %s", got, tc.wantIP)
			}
			if got := s.scheme(r); got != tc.wantScheme {
				t.Errorf("scheme = %s, want %s", got, tc.wantScheme)
			}
		})
	}
}
