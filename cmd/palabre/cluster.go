package main

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"palabre/cluster"
	"palabre/signaling"
)

// clusterFlags are the serve flags of a cluster node.
type clusterFlags struct {
	bind         string
	advertise    string
	join         listFlag
	keyFile      string
	insecure     bool
	wan          bool
	nodeID       string
	region       string
	capacity     float64
	drainTimeout time.Duration
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.bind, "cluster-bind", "", "gossip `address` (TCP and UDP, e.g. 0.0.0.0:7946): makes this server a cluster node")
	fs.StringVar(&c.advertise, "cluster-advertise", "", "gossip `address` the other nodes reach this one at, if not --cluster-bind's")
	fs.Var(&c.join, "cluster-join", "gossip `address` of a node of the cluster to join (repeatable)")
	fs.StringVar(&c.keyFile, "cluster-key-file", "", "`file` holding the cluster's key (palabre cluster keygen): encrypts gossip; nodes without it cannot join")
	fs.BoolVar(&c.insecure, "cluster-insecure", false, "allow a cluster without a key: gossip in clear, anyone reaching the port may join (closed test networks only)")
	fs.BoolVar(&c.wan, "cluster-wan", false, "tune failure detection for nodes spread across the Internet (slower, more tolerant)")
	fs.StringVar(&c.nodeID, "node-id", "", "this node's `id` in the cluster (default: generated once and kept in the data directory)")
	fs.StringVar(&c.region, "region", "", "free-text `region` shown in palabre cluster nodes")
	fs.Float64Var(&c.capacity, "capacity", 1, "this node's share of new rooms, relative to the others (2 takes twice as many)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM or palabre drain, how long a cluster node waits for its rooms to move to other nodes before it exits")
}

// nodeIDFile keeps a generated node id across restarts.
const nodeIDFile = "node-id"

// nodeID returns the flag's id, or the one kept in the data directory,
// made once from the host name.
func (c *clusterFlags) loadNodeID(dataDir string) (string, error) {
	if c.nodeID != "" {
		return c.nodeID, nil
	}
	path := filepath.Join(dataDir, nodeIDFile)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r == ' ' || r > 126 {
			return '-'
		}
		return r
	}, host)
	if len(host) > 40 {
		host = host[:40]
	}
	var b [3]byte
	rand.Read(b[:])
	id := strings.TrimPrefix(host+"-"+hex.EncodeToString(b[:]), "-")
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
}

// startCluster starts the cluster node if --cluster-bind is set; nil
// otherwise. publicURL is where participants reach this node.
func startCluster(c clusterFlags, dataDir, publicURL string, log *slog.Logger) (*cluster.Node, []byte, error) {
	if c.bind == "" {
		if len(c.join) > 0 || c.keyFile != "" {
			return nil, nil, errors.New("cluster: --cluster-join and --cluster-key-file need --cluster-bind")
		}
		return nil, nil, nil
	}
	if publicURL == "" {
		return nil, nil, errors.New("cluster: a cluster node needs --public-url: the address participants are redirected to")
	}
	var key []byte
	if c.keyFile != "" {
		var err error
		if key, err = cluster.ReadKeyFile(c.keyFile); err != nil {
			return nil, nil, err
		}
	}
	id, err := c.loadNodeID(dataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: node id: %w", err)
	}
	node, err := cluster.New(cluster.Config{
		NodeID: id, PublicURL: publicURL, Region: c.region, Capacity: c.capacity,
		BindAddr: c.bind, AdvertiseAddr: c.advertise, Key: key, Insecure: c.insecure,
		WAN: c.wan, Logger: log,
	})
	if err != nil {
		return nil, nil, err
	}
	return node, key, nil
}

// turnSecretFromKey derives the TURN secret from the cluster key, so that
// every node of a cluster accepts the credentials any node hands out
// without one more shared setting.
func turnSecretFromKey(key []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, key, nil, "palabre turn secret", 32)
}

// clusterCmd runs "palabre cluster keygen|nodes".
func clusterCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: palabre cluster keygen [--out FILE] | palabre cluster nodes [--server URL]")
		return 2
	}
	switch args[0] {
	case "keygen":
		return clusterKeygen(args[1:], stdout, stderr)
	case "nodes":
		return clusterNodes(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "palabre cluster: unknown command %q (want keygen or nodes)\n", args[0])
	return 2
}

func clusterKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the key to this `file` (mode 0600) instead of standard output")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	key, err := cluster.GenerateKey()
	if err != nil {
		fmt.Fprintln(stderr, "cluster keygen:", err)
		return 1
	}
	if *out == "" {
		fmt.Fprintln(stdout, key)
		return 0
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintln(stderr, "cluster keygen:", err)
		return 1
	}
	_, err = fmt.Fprintln(f, key)
	if err = errors.Join(err, f.Close()); err != nil {
		fmt.Fprintln(stderr, "cluster keygen:", err)
		return 1
	}
	fmt.Fprintf(stderr, "Cluster key written to %s. Copy it to every node (mode 0600) and pass --cluster-key-file.\n", *out)
	return 0
}

func clusterNodes(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster nodes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := addAdminFlags(fs)
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var resp signaling.NodesResponse
	if err := a.call(http.MethodGet, "/api/v1/cluster/nodes", nil, http.StatusOK, &resp); err != nil {
		fmt.Fprintln(stderr, "cluster nodes:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, resp)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tSTATE\tPARTICIPANTS\tROOMS\tCAPACITY\tREGION\tGOSSIP")
	for _, m := range resp.Nodes {
		id := m.ID
		if m.Local {
			id += " *"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%g\t%s\t%s\n", id, m.URL, m.State, m.Participants, m.Rooms, m.Capacity, m.Region, m.Addr)
	}
	tw.Flush()
	return 0
}

// drainCmd runs "palabre drain": the node stops taking rooms, moves its
// rooms to the others and exits.
func drainCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := addAdminFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var resp struct {
		Rooms        int `json:"rooms"`
		Participants int `json:"participants"`
	}
	if err := a.call(http.MethodPost, "/api/v1/cluster/drain", nil, http.StatusAccepted, &resp); err != nil {
		fmt.Fprintln(stderr, "drain:", err)
		return 1
	}
	fmt.Fprintf(stdout, "draining %s: moving %d rooms (%d participants) to other nodes; the server exits when they are gone or at its --drain-timeout\n",
		*a.server, resp.Rooms, resp.Participants)
	return 0
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}

// defaultPublicURL is the public URL of a node listening on addr when
// --public-url is not given: only meaningful for a specific address.
func defaultPublicURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		return ""
	}
	return (&url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}).String()
}
