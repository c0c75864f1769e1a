package server_test

import (
	"errors"
	"strings"
	"testing"

	"palabre/server"
)

// Effective derives the ports that follow the listen port and the media
// bind address.
func TestEffectiveDerivesMedia(t *testing.T) {
	cases := []struct {
		listen             string
		mediaIP            string
		wantUDP, wantTCP   int
		wantIP             string
		mediaPort, tcpPort int
	}{
		{"127.0.0.1:8080", "", 8080, 8081, "127.0.0.1", server.PortFromListen, server.PortFromListen},
		{":443", "", 443, 444, "", server.PortFromListen, server.PortFromListen},
		{"localhost:9000", "", 9000, 9001, "127.0.0.1", server.PortFromListen, server.PortFromListen},
		{"127.0.0.1:0", "", 0, 0, "127.0.0.1", server.PortFromListen, server.PortFromListen},
		{"0.0.0.0:8080", "192.0.2.7", 5000, 0, "192.0.2.7", 5000, 0},
		{"127.0.0.1:8080", "", 8080, server.AnyPort, "127.0.0.1", server.PortFromListen, server.AnyPort},
	}
	for _, tc := range cases {
		o := server.Defaults()
		o.Listen, o.MediaIP, o.MediaPort, o.MediaTCPPort = tc.listen, tc.mediaIP, tc.mediaPort, tc.tcpPort
		got, err := o.Effective()
		if err != nil {
			t.Errorf("%s: %v", tc.listen, err)
			continue
		}
		if got.MediaPort != tc.wantUDP || got.MediaTCPPort != tc.wantTCP || got.MediaIP != tc.wantIP {
			t.Errorf("%s: media %q UDP %d TCP %d, want %q %d %d", tc.listen, got.MediaIP, got.MediaPort, got.MediaTCPPort, tc.wantIP, tc.wantUDP, tc.wantTCP)
		}
	}
}

// Refused settings are *SettingError naming the field and the value.
func TestEffectiveRefusals(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*server.Options)
		setting string
		value   string
		want    string
	}{
		{"listen", func(o *server.Options) { o.Listen = "nowhere" }, "Listen", "nowhere", "HOST:PORT"},
		{"media port", func(o *server.Options) { o.MediaPort = 70000 }, "MediaPort", "70000", "must be 1..65535"},
		{"ICE-TCP after 65535", func(o *server.Options) { o.Listen = "127.0.0.1:65535" }, "MediaTCPPort", "65536", "out of range"},
		{"media IP", func(o *server.Options) { o.MediaIP = "not-an-ip" }, "MediaIP", "not-an-ip", "not an IP address"},
		{"public IP", func(o *server.Options) { o.PublicIPs = []string{"x"} }, "PublicIPs", "x", "not an IP address"},
		{"slots", func(o *server.Options) { o.Slots = 9 }, "Slots", "9", "1..8"},
		{"public URL", func(o *server.Options) { o.PublicURL = "talk.example.org" }, "PublicURL", "talk.example.org", "want a URL"},
		{"TURN port", func(o *server.Options) { o.TURN.Port = 70000 }, "TURN.Port", "70000", "must be 1..65535"},
		{"TURN TLS without certificate", func(o *server.Options) { o.TURN.TLSPort = 5349 }, "TURN.TLSPort", "5349", "TLS.CertFile"},
		{"relay ports", func(o *server.Options) { o.TURN.RelayPortMin, o.TURN.RelayPortMax = 9, 5 }, "TURN.RelayPorts", "9-5", "1024-65535"},
		{"short secret", func(o *server.Options) { o.TURN.Secret = "short" }, "TURN.Secret", "", "at least 16 bytes"},
		{"two TLS modes", func(o *server.Options) { o.TLS.ACMEEmail, o.TLS.LAN = "ops@example.org", true }, "TLS", "", "choose one"},
		{"ACME without a name", func(o *server.Options) { o.TLS.ACMEEmail = "ops@example.org" }, "TLS.ACMEEmail", "ops@example.org", "PublicURL https://NAME"},
		{"ACME on an address", func(o *server.Options) {
			o.TLS.ACMEEmail, o.PublicURL = "ops@example.org", "https://203.0.113.5"
		}, "TLS.ACMEEmail", "ops@example.org", "a DNS name"},
		{"join without bind", func(o *server.Options) { o.Cluster.Join = []string{"127.0.0.1:7946"} }, "Cluster.Bind", "", "need Cluster.Bind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := server.Defaults()
			tc.edit(&o)
			_, err := o.Effective()
			var se *server.SettingError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want a *SettingError", err)
			}
			if se.Setting != tc.setting || se.Value != tc.value || !strings.Contains(se.Err.Error(), tc.want) {
				t.Errorf("got %q %q %q, want %q %q containing %q", se.Setting, se.Value, se.Err, tc.setting, tc.value, tc.want)
			}
		})
	}
	// A valid ACME setup passes.
	o := server.Defaults()
	o.TLS.ACMEEmail, o.PublicURL = "ops@example.org", "https://talk.example.org"
	if _, err := o.Effective(); err != nil {
		t.Errorf("ACME: %v", err)
	}
}
