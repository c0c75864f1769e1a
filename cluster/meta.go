package cluster

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// ProtocolVersion is the version of what nodes exchange (metadata, registry
// and live-room messages). Nodes ignore peers of another version when
// placing rooms.
const ProtocolVersion = 1

// MaxMetaBytes is memberlist's limit on node metadata.
const MaxMetaBytes = 512

// maxRegionLen bounds Config.Region; with a public URL of at most 256
// bytes, the metadata stays under MaxMetaBytes.
const maxRegionLen = 64

// meta is what a node tells the others about itself, gossiped with its
// membership. Short keys keep it far below MaxMetaBytes.
type meta struct {
	URL          string  `json:"u"`
	Region       string  `json:"g,omitempty"`
	Capacity     float64 `json:"c"`
	Participants int     `json:"p,omitempty"`
	Rooms        int     `json:"r,omitempty"`
	Draining     bool    `json:"d,omitempty"`
	Protocol     int     `json:"v"`
}

func (m meta) encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMetaBytes {
		return nil, fmt.Errorf("cluster: node metadata is %d bytes, memberlist allows %d (shorten the public URL or region)", len(b), MaxMetaBytes)
	}
	return b, nil
}

func decodeMeta(b []byte) (meta, error) {
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("cluster: bad node metadata: %w", err)
	}
	return m, nil
}

// check validates a peer's metadata.
func (m meta) check() error {
	if err := checkPublicURL(m.URL); err != nil {
		return err
	}
	if m.Capacity <= 0 || m.Capacity > 1000 || m.Participants < 0 || m.Rooms < 0 || len(m.Region) > maxRegionLen {
		return fmt.Errorf("cluster: node metadata out of range")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// checkPublicURL validates a node's public base URL: absolute http or
// https, a host, no query or fragment.
func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("cluster: public URL %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("cluster: public URL %q must be http(s)://host[:port][/path], the address participants reach this node at", s)
	}
	if len(s) > 256 {
		return fmt.Errorf("cluster: public URL longer than 256 bytes")
	}
	return nil
}
