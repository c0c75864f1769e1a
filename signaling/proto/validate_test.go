package proto

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	cases := []struct {
		name string
		raw  string
		ok   bool
		id   uint32
	}{
		{"hello", `{"type":"hello","id":1,"version":1}`, true, 1},
		{"hello without version", `{"type":"hello","id":1}`, false, 1},
		{"join", `{"type":"join","id":2,"room":"a","name":"Zoé"}`, true, 2},
		{"join without name", `{"type":"join","room":"a"}`, false, 0},
		{"join blank name", `{"type":"join","room":"a","name":"   "}`, false, 0},
		{"join control char", `{"type":"join","room":"a","name":"a\u0007b"}`, false, 0},
		{"join long name", `{"type":"join","room":"a","name":"` + strings.Repeat("é", MaxNameRunes+1) + `"}`, false, 0},
		{"join without room", `{"type":"join","name":"x"}`, false, 0},
		{"join redirected", `{"type":"join","room":"a","name":"x","hops":3}`, true, 0},
		{"join too many hops", `{"type":"join","room":"a","name":"x","hops":4}`, false, 0},
		{"join negative hops", `{"type":"join","room":"a","name":"x","hops":-1}`, false, 0},
		{"answer", `{"type":"answer","sdp":"v=0"}`, true, 0},
		{"answer without sdp", `{"type":"answer"}`, false, 0},
		{"candidate", `{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}`, true, 0},
		{"candidate missing", `{"type":"candidate"}`, false, 0},
		{"candidate too long", `{"type":"candidate","candidate":{"candidate":"` + strings.Repeat("c", MaxCandidateLen+1) + `"}}`, false, 0},
		{"kick without target", `{"type":"kick","id":9}`, false, 9},
		{"set_mode", `{"type":"set_mode","mode":"ptt"}`, true, 0},
		{"set_mode bad", `{"type":"set_mode","mode":"loud"}`, false, 0},
		{"unknown", `{"type":"welcome"}`, false, 0},
		{"no type", `{}`, false, 0},
		{"not an object", `"hello"`, false, 0},
		{"trailing data", `{"type":"ping"} {"type":"ping"}`, false, 0},
		{"wrong field type", `{"type":"ping","id":"seven"}`, false, 0},
		{"oversized", `{"type":"ping","name":"` + strings.Repeat("x", MaxMessageBytes) + `"}`, false, 0},
		{"password too long", `{"type":"join","room":"a","name":"x","password":"` + strings.Repeat("p", MaxPasswordBytes+1) + `"}`, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeRequest([]byte(tc.raw))
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Code != CodeBadMessage || pe.Message == "" {
					t.Errorf("error %v is not a bad_message with a message", err)
				}
			}
			if m.ID != tc.id {
				t.Errorf("id = %d, want %d", m.ID, tc.id)
			}
		})
	}
}
