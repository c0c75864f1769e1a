package proto

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary bytes to the server's decoder of client
// messages. It must never panic; what it accepts must be within the
// documented limits and survive a round trip through JSON unchanged in
// validity.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"type":"hello","id":1,"version":1,"software":"palabre-web/1"}`,
		`{"type":"join","id":2,"room":"choir","name":"Aïcha","password":"pw","secret":"s","hops":1}`,
		`{"type":"answer","id":3,"sdp":"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"ptt_on","id":4}`, `{"type":"ptt_off"}`, `{"type":"raise_hand"}`, `{"type":"lower_hand"}`,
		`{"type":"mute","target":"pabc"}`, `{"type":"unmute"}`, `{"type":"kick","target":"p1"}`,
		`{"type":"lock"}`, `{"type":"unlock"}`, `{"type":"set_mode","mode":"ptt"}`,
		`{"type":"set_password","password":""}`, `{"type":"grant","target":"p1"}`, `{"type":"revoke","target":"p1"}`,
		`{"type":"leave"}`, `{"type":"ping","id":4294967295}`,
		`{"type":"join","room":"x","name":"\u202e"}`, `{"type":"hello","version":-1}`, `[]`, `{"type":1}`,
		`{"type":"ping"} {"type":"ping"}`, `{"type":"join","room":"a","name":"b","hops":99}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeRequest(data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T, want *Error", err)
			}
			return
		}
		if !requestTypes[m.Type] || len(m.SDP) > MaxSDPBytes || m.Hops < 0 || m.Hops > MaxHops ||
			len(m.Password) > MaxPasswordBytes || len(m.Secret) > MaxSecretBytes {
			t.Fatalf("accepted out of limits: %+v", m)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeRequest(again); err != nil && len(again) <= MaxMessageBytes {
			t.Fatalf("accepted %q but not its re-encoding %q: %v", data, again, err)
		}
	})
}
