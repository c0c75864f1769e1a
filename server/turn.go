package server

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"palabre/turn"
)

// startTURN starts the bundled TURN server for media bound at o.MediaIP;
// mediaPorts are the SFU's ports, the only ones relays may reach on this
// machine. clusterKey, if any, gives the secret when none is set.
func startTURN(o Options, mediaPorts []int, clusterKey []byte) (*turn.Server, error) {
	secret := []byte(o.TURN.Secret)
	var err error
	switch origin, _ := o.TURNSecretOrigin(); {
	case origin == SecretGiven:
	case origin == SecretFromClusterKey && clusterKey != nil:
		// Credentials from any node must work on every node.
		if secret, err = turnSecretFromKey(clusterKey); err != nil {
			return nil, err
		}
	default:
		if secret, err = turn.LoadOrCreateSecret(o.DataDir); err != nil {
			return nil, &SettingError{Setting: "DataDir", Value: o.DataDir, Err: err}
		}
	}
	cfg := turn.Config{
		ListenIP:     o.MediaIP,
		Port:         o.TURN.Port,
		TLSPort:      o.TURN.TLSPort,
		RelayIP:      o.MediaIP,
		PublicIPs:    o.PublicIPs,
		RelayPortMin: o.TURN.RelayPortMin,
		RelayPortMax: o.TURN.RelayPortMax,
		Secret:       secret,
		OwnPorts:     mediaPorts,
		AllowPeers:   o.TURN.AllowPeers,
		DenyPeers:    o.TURN.DenyPeers,
		OwnAddrs:     ownAddrs(o.MediaIP, o.PublicIPs),
		Logger:       o.Logger,
	}
	if a, err := netip.ParseAddr(cfg.RelayIP); (err != nil || a.IsUnspecified()) && len(o.PublicIPs) == 0 {
		// Relays need a concrete address to announce.
		if cfg.RelayIP = firstGlobalIP(); cfg.RelayIP == "" {
			return nil, settingErr("PublicIPs", "", "needed: TURN relays need an address to announce, and this machine has no global IPv4 address")
		}
	}
	if o.TURN.TLSPort != 0 {
		certs, err := newCertReloader(o.TLS.CertFile, o.TLS.KeyFile)
		if err != nil {
			return nil, &SettingError{Setting: "TLS.CertFile", Value: o.TLS.CertFile, Err: err}
		}
		cfg.TLSConfig = certs.tlsConfig()
	}
	s, err := turn.New(cfg)
	var oe *net.OpError
	switch {
	case err == nil:
		return s, nil
	case errors.As(err, &oe) && oe.Op == "listen":
		setting, port := "TURN.Port", o.TURN.Port
		if o.TURN.TLSPort != 0 && isPort(oe.Addr, o.TURN.TLSPort) {
			setting, port = "TURN.TLSPort", o.TURN.TLSPort
		}
		return nil, &SettingError{Setting: setting, Value: strconv.Itoa(port), Err: err}
	case len(o.PublicIPs) > 0 && strings.Contains(err.Error(), "PublicIPs"):
		// turn's words name its Config fields: say it in the setting's.
		return nil, settingErr("PublicIPs", strings.Join(o.PublicIPs, ","),
			"want at most one address per family (IPv4, IPv6), including one of the media address's family (IPv4 when media listens on every interface)")
	}
	return nil, &SettingError{Setting: "TURN", Err: err}
}

func isPort(a net.Addr, port int) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.Port == port
}

// Where the TURN secret comes from (TURNSecretOrigin).
const (
	SecretGiven          = "given"       // TURN.Secret
	SecretFromClusterKey = "cluster key" // derived from Cluster.KeyFile's key
	SecretGenerated      = "generated"   // made once, kept in a file of DataDir
)

// TURNSecretOrigin says where Start takes the TURN secret from, and for a
// generated one the file that keeps it (which may not exist yet).
func (o Options) TURNSecretOrigin() (origin, file string) {
	switch {
	case o.TURN.Secret != "":
		return SecretGiven, ""
	case o.Cluster.Bind != "" && o.Cluster.KeyFile != "":
		return SecretFromClusterKey, ""
	}
	return SecretGenerated, filepath.Join(o.DataDir, turn.SecretFile)
}

// turnSecretFromKey derives the TURN secret from the cluster key, so that
// every node of a cluster accepts the credentials any node hands out
// without one more shared setting.
func turnSecretFromKey(key []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, key, nil, "palabre turn secret", 32)
}

// turnAt hands out TURN URLs naming the address TURN really listens on
// when that is known (a public IP, or a specific media IP), else the host
// the client reached the web server by (the same machine).
type turnAt struct {
	*turn.Server
	host string
}

func (t turnAt) URLs(requestHost string) []string {
	if t.host != "" {
		return t.Server.URLs(t.host)
	}
	return t.Server.URLs(requestHost)
}

func turnHost(mediaIP string, public []string) string {
	if len(public) > 0 {
		return public[0]
	}
	if a, err := netip.ParseAddr(mediaIP); err == nil && !a.IsUnspecified() {
		return mediaIP
	}
	return ""
}

// ownAddrs are the addresses the SFU can be reached at: the relay may
// always send there.
func ownAddrs(mediaIP string, public []string) []netip.Addr {
	var out []netip.Addr
	if a, err := netip.ParseAddr(mediaIP); err == nil && !a.IsUnspecified() {
		out = append(out, a)
	} else {
		addrs, _ := net.InterfaceAddrs()
		for _, ia := range addrs {
			if p, err := netip.ParsePrefix(ia.String()); err == nil {
				out = append(out, p.Addr())
			}
		}
	}
	for _, s := range public {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// firstGlobalIP is this machine's first global unicast IPv4 address, or "".
func firstGlobalIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, ia := range addrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().IsGlobalUnicast() && p.Addr().Is4() {
			return p.Addr().String()
		}
	}
	return ""
}
