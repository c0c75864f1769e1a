package main

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"palabre/server"
)

// settingFlags names the flag of each server.Options setting, and what a
// port setting's port is, for the message when it is taken.
var settingFlags = map[string]struct{ flag, port string }{
	"Listen":               {"listen", "TCP port %s (HTTP)"},
	"DataDir":              {"data", ""},
	"MediaIP":              {"media-ip", ""},
	"MediaPort":            {"media-port", "UDP port %s (media)"},
	"MediaTCPPort":         {"media-tcp-port", "TCP port %s (ICE-TCP)"},
	"PublicIPs":            {"public-ip", ""},
	"Slots":                {"slots", ""},
	"PublicURL":            {"public-url", ""},
	"AdminListen":          {"admin-listen", "TCP port %s (profiles)"},
	"TLS.CertFile":         {"tls-cert", ""},
	"TLS.ACMEEmail":        {"acme-email", ""},
	"TURN.Port":            {"turn-port", "port %s (TURN, UDP and TCP)"},
	"TURN.TLSPort":         {"turn-tls-port", "TCP port %s (TURN over TLS)"},
	"TURN.RelayPorts":      {"turn-relay-ports", ""},
	"TURN.Secret":          {"turn-secret", ""},
	"TURN.TTL":             {"turn-ttl", ""},
	"Cluster.Bind":         {"cluster-bind", "gossip port %s (TCP and UDP)"},
	"Cluster.KeyFile":      {"cluster-key-file", ""},
	"Cluster.DrainTimeout": {"drain-timeout", ""},
}

// derivedFrom says which flag a port follows when its own is not given.
var derivedFrom = map[string]string{"MediaPort": "the --listen port", "MediaTCPPort": "the --listen port + 1"}

// explain turns an error of server.Start into the flags' words: the flag,
// its value, and what to do. source says where each flag came from.
func explain(err error, source map[string]string) error {
	var se *server.SettingError
	if !errors.As(err, &se) {
		return err
	}
	sf, known := settingFlags[se.Setting]
	if !known {
		return errors.New(reason(se.Err))
	}
	flagName := "--" + sf.flag
	if server.IsAddrInUse(se.Err) && sf.port != "" {
		port := se.Value
		if _, p, err := net.SplitHostPort(se.Value); err == nil {
			port = p
		}
		what := fmt.Sprintf(sf.port, port)
		if d, ok := derivedFrom[se.Setting]; ok && source[sf.flag] != "flag" && source[sf.flag] != "env" && source[sf.flag] != "file" {
			what += ", " + d + " by default,"
		}
		return fmt.Errorf("%s is already in use, by another program or another palabre serve: stop it, or choose another port with %s", what, flagName)
	}
	if se.Setting == "DataDir" && errors.Is(se.Err, server.ErrDataDirInUse) {
		return fmt.Errorf("%s %s: the data directory is in use by another palabre serve: stop it, or give this one its own %s", flagName, se.Value, flagName)
	}
	if se.Setting == "TURN.Secret" {
		return fmt.Errorf("%s: %s", flagName, reason(se.Err)) // never print a secret
	}
	if se.Value == "" {
		return fmt.Errorf("%s: %s", flagName, reason(se.Err))
	}
	return fmt.Errorf("%s %s: %s", flagName, se.Value, reason(se.Err))
}

// reason is an error's message without the package prefixes ("turn: ")
// that mean nothing to an operator.
func reason(err error) string {
	msg := err.Error()
	for changed := true; changed; {
		changed = false
		for _, p := range []string{"turn: ", "sfu: ", "cluster: ", "rooms: ", "signaling: "} {
			if strings.HasPrefix(msg, p) {
				msg, changed = msg[len(p):], true
			}
		}
	}
	return msg
}
