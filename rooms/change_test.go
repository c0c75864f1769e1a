package rooms

import (
	"errors"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestEdit(t *testing.T) {
	tests := []struct {
		name    string
		start   Spec
		change  Change
		invalid bool
		want    func(Definition) bool
	}{
		{name: "password and lock", start: Spec{Name: "a"}, change: Change{Password: ptr("new-one"), Locked: ptr(true)},
			want: func(d Definition) bool { return d.HasPassword() && d.Locked }},
		{name: "remove password", start: Spec{Name: "a", Password: "pw"}, change: Change{Password: ptr("")},
			want: func(d Definition) bool { return !d.HasPassword() }},
		{name: "open to ptt resets speakers", start: Spec{Name: "a", MaxSpeakers: 3}, change: Change{Mode: ptr(ModePTT)},
			want: func(d Definition) bool { return d.Mode == ModePTT && d.MaxSpeakers == 1 }},
		{name: "ptt to moderated keeps speakers", start: Spec{Name: "a", Mode: ModePTT, MaxSpeakers: 2}, change: Change{Mode: ptr(ModeModerated)},
			want: func(d Definition) bool { return d.Mode == ModeModerated && d.MaxSpeakers == 2 }},
		{name: "mode and speakers together", start: Spec{Name: "a"}, change: Change{Mode: ptr(ModePTT), MaxSpeakers: ptr(2)},
			want: func(d Definition) bool { return d.Mode == ModePTT && d.MaxSpeakers == 2 }},
		{name: "ptt to open resets to 3", start: Spec{Name: "a", Mode: ModePTT}, change: Change{Mode: ptr(ModeOpen)},
			want: func(d Definition) bool { return d.MaxSpeakers == 3 }},
		{name: "speakers out of range", start: Spec{Name: "a"}, change: Change{Password: ptr("new-one"), MaxSpeakers: ptr(99)}, invalid: true},
		{name: "participants out of range", start: Spec{Name: "a"}, change: Change{Locked: ptr(true), MaxParticipants: ptr(-1)}, invalid: true},
		{name: "unknown mode", start: Spec{Name: "a"}, change: Change{Password: ptr("x"), Mode: ptr(Mode("loud"))}, invalid: true},
		{name: "password too long", start: Spec{Name: "a"}, change: Change{Locked: ptr(true), Password: ptr(string(make([]byte, MaxPasswordLen+1)))}, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, t.TempDir())
			before, _, err := s.Create(tt.start)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Edit(before.Name, tt.change)
			if tt.invalid {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Edit = %v, want ErrInvalid", err)
				}
				// Nothing of a refused change is stored, the password
				// included.
				after, _ := s.Get(before.Name)
				if after != before {
					t.Errorf("refused change stored:\n got %+v\nwant %+v", after, before)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(got) {
				t.Errorf("after %+v: %+v", tt.change, got)
			}
			if !before.Version.Less(got.Version) {
				t.Errorf("version %v not after %v", got.Version, before.Version)
			}
			if stored, _ := s.Get(before.Name); stored != got {
				t.Errorf("stored %+v, returned %+v", stored, got)
			}
		})
	}
}

func TestEditUnknownRoom(t *testing.T) {
	s := openTest(t, t.TempDir())
	if _, err := s.Edit("nobody", Change{Locked: ptr(true)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Edit = %v, want ErrNotFound", err)
	}
}
