package signaling_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"palabre/admission"
	"palabre/client"
	"palabre/internal/testkit"
	"palabre/server"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// /metrics follows what happens: joins, refusals, participants, floor
// changes and forwarded packets.
func TestMetrics(t *testing.T) {
	ts := startServer(t)
	ts.createRoom(signaling.CreateRoomRequest{Name: "counted", Mode: "ptt", Password: "pw"})
	if err := tryJoin(t, ts, client.JoinRequest{Room: "counted", Name: "x", Password: "no"}); errCode(err) != proto.CodeBadPassword {
		t.Fatal(err)
	}
	a := ts.join("counted", "a", "pw")
	b := ts.join("counted", "b", "pw")
	if err := a.PTTOn(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(client.NewToneSource([]byte("a"), 30)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "b hears a", func() bool { return heard(b, a.Self().Source) > 10 })

	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		"palabre_participants 2", "palabre_rooms 1", "palabre_joins_total 2",
		`palabre_join_failures_total{code="bad_password"} 1`, "palabre_floor_changes_total 1",
		`palabre_media_connections{kind="udp"} 2`, "palabre_join_seconds_count 2", `palabre_build_info{software="palabre"} 1`,
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(text, want+"\n") && !strings.Contains(text, want+" ") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, "palabre_forwarded_packets_total 0\n") {
		t.Error("no forwarded packets counted")
	}
}

// Joins from one address are rate limited.
func TestJoinRateLimit(t *testing.T) {
	ts := startServer(t, withOptions(func(o *server.Options) {
		o.Admission = admission.GuardConfig{JoinsPerSecond: 0.01, JoinBurst: 2}
	}))
	for i := range 2 {
		if err := tryJoin(t, ts, client.JoinRequest{Room: "busy-door", Name: "ok"}); err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
	}
	if err := tryJoin(t, ts, client.JoinRequest{Room: "busy-door", Name: "one too many"}); errCode(err) != proto.CodeRateLimited {
		t.Fatalf("third join: %v, want rate_limited", err)
	}
}

// With an admin listener, /metrics moves there, off the public port, and
// carries the TURN server's counters.
func TestMetricsOnAdminListener(t *testing.T) {
	admin := freeAddr(t)
	ts := startServer(t, withBundledTURN(), withOptions(func(o *server.Options) { o.AdminListen = admin }))
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("public /metrics: %s, want 404 with an admin listener", resp.Status)
	}
	resp, err = http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"palabre_turn_allocations 0", `palabre_turn_relayed_bytes_total{direction="to_peers"}`,
		`palabre_disconnects_total{reason="flood"} 0`, `palabre_media_refused_total{reason="nack_budget"} 0`, `palabre_address_limit_refusals_total{limit="participants"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("admin /metrics lacks %q", want)
		}
	}
}

// freeAddr is a loopback TCP address free at the time of the call.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
