package server_test

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"palabre/internal/testkit/testserver"
	"palabre/server"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	goleak.VerifyTestMain(m)
}

// A second server on a port the first one holds fails with a
// *SettingError naming the setting of that port, and leaves nothing
// behind: the ports it had taken are free again.
func TestBusyPortNamesItsSetting(t *testing.T) {
	first := testserver.Start(t, func(o *server.Options) {
		o.MediaTCPPort = server.AnyPort
		o.Cluster.Bind, o.Cluster.Insecure = "127.0.0.1:0", true
	})
	port := func(a net.Addr) int {
		_, p, _ := net.SplitHostPort(a.String())
		n, _ := strconv.Atoi(p)
		return n
	}
	_, gossip, _ := net.SplitHostPort(first.Cluster.GossipAddr())
	cases := []struct {
		setting string
		edit    func(*server.Options)
	}{
		{"Listen", func(o *server.Options) { o.Listen = strings.TrimPrefix(first.URL, "http://") }},
		{"MediaPort", func(o *server.Options) { o.MediaPort = first.Engine.MediaAddr().Port }},
		{"MediaTCPPort", func(o *server.Options) { o.MediaTCPPort = first.Engine.MediaTCPAddr().Port }},
		{"TURN.Port", func(o *server.Options) { o.TURN.Port = port(first.TURN.UDPAddr()) }},
		{"Cluster.Bind", func(o *server.Options) { o.Cluster.Bind, o.Cluster.Insecure = "127.0.0.1:"+gossip, true }},
	}
	for _, tc := range cases {
		t.Run(tc.setting, func(t *testing.T) {
			o := testserver.Options(t)
			// A fixed free HTTP port, to check it is released.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			o.Listen = ln.Addr().String()
			ln.Close()
			tc.edit(&o)
			n, err := server.Start(o)
			if err == nil {
				n.Close()
				t.Fatal("started on a busy port")
			}
			var se *server.SettingError
			if !errors.As(err, &se) || se.Setting != tc.setting || !server.IsAddrInUse(err) {
				t.Fatalf("error %v (%T), want a SettingError for %s, address in use", err, err, tc.setting)
			}
			if tc.setting == "Listen" {
				return
			}
			again, err := net.Listen("tcp", o.Listen)
			if err != nil {
				t.Fatalf("the failed start kept its HTTP port: %v", err)
			}
			again.Close()
		})
	}
}

// The listen address given in Options.Listen also works as a Listener,
// and Drain on a server that is no cluster node returns at once.
func TestDrainWithoutClusterAndCloseTwice(t *testing.T) {
	o := testserver.Options(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &closeCounter{Listener: inner}
	o.Listener = ln
	n, err := server.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	if n.URL() != "http://"+ln.Addr().String() {
		t.Errorf("URL %s, listener at %s", n.URL(), ln.Addr())
	}
	start := time.Now()
	if left := n.Drain(context.Background()); left != 0 || time.Since(start) > time.Second {
		t.Errorf("Drain without a cluster: %d rooms left after %v", left, time.Since(start))
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// (Listening again on its port would race with other processes
	// picking free ports.)
	if ln.closed.Load() == 0 {
		t.Error("listener still open after Close")
	}
}

// closeCounter counts the Close calls of a listener.
type closeCounter struct {
	net.Listener
	closed atomic.Int32
}

func (l *closeCounter) Close() error {
	l.closed.Add(1)
	return l.Listener.Close()
}
