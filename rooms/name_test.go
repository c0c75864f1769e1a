package rooms

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"0", true},
		{"team-meeting", true},
		{"a--b", true},
		{"abc123", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"-", false},
		{"-a", false},
		{"a-", false},
		{"Abc", false},
		{"a_b", false},
		{"a b", false},
		{"a.b", false},
		{"a/b", false},
		{"café", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateName(%q) error %v does not wrap ErrInvalid", tt.name, err)
		}
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want Mode
		ok   bool
	}{
		{"open", ModeOpen, true},
		{"ptt", ModePTT, true},
		{"moderated", ModeModerated, true},
		{"", "", false},
		{"OPEN", "", false},
		{" open", "", false},
		{"push-to-talk", "", false},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseMode(%q) error %v does not wrap ErrInvalid", tt.in, err)
		}
	}
}

func TestDefaultMaxSpeakers(t *testing.T) {
	for m, want := range map[Mode]int{ModeOpen: 3, ModePTT: 1, ModeModerated: 1} {
		if got := m.DefaultMaxSpeakers(); got != want {
			t.Errorf("%s.DefaultMaxSpeakers() = %d, want %d", m, got, want)
		}
	}
}
