package client

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"palabre/signaling/proto"
)

// The redirects a Member follows: at most proto.MaxHops, each join saying
// how many it followed, and only to http(s) URLs.
func TestMemberRedirects(t *testing.T) {
	cases := []struct {
		name    string
		to      func(self string) string // where the fake server redirects
		wantErr string
		hops    []int // hops of the joins received
	}{
		{"endless redirects stop", func(self string) string { return self }, "still redirected after 3 hops", []int{0, 1, 2, 3}},
		{"unusable URL refused", func(string) string { return "javascript:alert(1)" }, "unusable URL", []int{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var hops []int
			var fs *fakeServer
			fs = startFake(t, func(s *session, m proto.Message) {
				if m.Type != proto.TypeJoin {
					s.standard(m)
					return
				}
				mu.Lock()
				hops = append(hops, m.Hops)
				mu.Unlock()
				s.send(proto.Message{Type: proto.TypeRedirect, ID: m.ID, URL: tc.to(fs.URL), Reason: proto.RedirectElsewhere})
			})
			_, err := JoinMember(testCtx(t, 10*time.Second), fs.URL, JoinRequest{Room: "r", Name: "n"},
				MemberOptions{Options: Options{Logger: discardLogger()}})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("JoinMember = %v, want an error containing %q", err, tc.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(hops) != len(tc.hops) {
				t.Fatalf("joins with hops %v, want %v", hops, tc.hops)
			}
			for i := range hops {
				if hops[i] != tc.hops[i] {
					t.Fatalf("joins with hops %v, want %v", hops, tc.hops)
				}
			}
		})
	}
}

// A refusal on the first join is returned as is.
func TestMemberFirstJoinRefused(t *testing.T) {
	fs := startFake(t, func(s *session, m proto.Message) {
		if m.Type == proto.TypeJoin {
			s.send(proto.ErrorReply(m.ID, proto.CodeBadPassword, "wrong password"))
			return
		}
		s.standard(m)
	})
	_, err := JoinMember(testCtx(t, 10*time.Second), fs.URL, JoinRequest{Room: "r", Name: "n"},
		MemberOptions{Options: Options{Logger: discardLogger()}})
	var pe *proto.Error
	if !errors.As(err, &pe) || pe.Code != proto.CodeBadPassword {
		t.Fatalf("JoinMember = %v, want bad_password", err)
	}
}

func TestPermanentCodes(t *testing.T) {
	for code, want := range map[string]bool{
		proto.CodeBadPassword: true, proto.CodeBadSecret: true, proto.CodeBadMessage: true,
		proto.CodeUnsupportedVersion: true, proto.CodeNotFound: false, proto.CodeRoomFull: false,
		proto.CodeRateLimited: false, proto.CodeInternal: false,
	} {
		if permanent(code) != want {
			t.Errorf("permanent(%q) = %v, want %v", code, !want, want)
		}
	}
}
