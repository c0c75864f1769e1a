package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"palabre/cluster"
)

// NodeIDFile keeps a generated node id across restarts, in the data
// directory.
const NodeIDFile = "node-id"

// startCluster starts the cluster node if o.Cluster.Bind is set (nil
// otherwise) and returns it with the cluster key. publicURL is where
// participants reach this node.
func startCluster(o Options, publicURL string) (*cluster.Node, []byte, error) {
	c := o.Cluster
	if c.Bind == "" {
		return nil, nil, nil
	}
	if publicURL == "" {
		return nil, nil, settingErr("PublicURL", "", "needed on a cluster node that listens on every interface: it is the address participants are redirected to")
	}
	var key []byte
	if c.KeyFile != "" {
		var err error
		if key, err = cluster.ReadKeyFile(c.KeyFile); err != nil {
			return nil, nil, &SettingError{Setting: "Cluster.KeyFile", Value: c.KeyFile, Err: err}
		}
	}
	id, err := loadNodeID(c.NodeID, o.DataDir)
	if err != nil {
		return nil, nil, &SettingError{Setting: "DataDir", Value: o.DataDir, Err: err}
	}
	node, err := cluster.New(cluster.Config{
		NodeID: id, PublicURL: publicURL, Region: c.Region, Capacity: c.Capacity,
		BindAddr: c.Bind, AdvertiseAddr: c.Advertise, Key: key, Insecure: c.Insecure,
		WAN: c.WAN, Logger: o.Logger,
	})
	if err != nil {
		setting := "Cluster" // the key, the id, the region…: cluster's words say which
		if IsAddrInUse(err) {
			setting = "Cluster.Bind"
		}
		return nil, nil, &SettingError{Setting: setting, Value: c.Bind, Err: err}
	}
	return node, key, nil
}

// loadNodeID returns id if set, or the one kept in the data directory,
// made once from the host name.
func loadNodeID(id, dataDir string) (string, error) {
	if id != "" {
		return id, nil
	}
	path := filepath.Join(dataDir, NodeIDFile)
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
	_, _ = rand.Read(b[:])
	id = strings.TrimPrefix(host+"-"+hex.EncodeToString(b[:]), "-")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
}

// defaultPublicURL is the public URL of a node listening on addr when
// none is given: only meaningful for a specific address.
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
