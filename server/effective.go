package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"

	"palabre/sfu"
	"palabre/turn"
)

// Effective returns o as Start will run it: defaults applied, the media
// ports that follow the listen port derived, the media bind address
// chosen, every value checked. Errors are *SettingError.
func (o Options) Effective() (Options, error) {
	o = o.withDefaults()
	listenHost, listenPort := "", 0
	if o.Listener != nil {
		if a, ok := o.Listener.Addr().(*net.TCPAddr); ok {
			listenHost, listenPort = a.IP.String(), a.Port
		}
	} else {
		h, p, err := net.SplitHostPort(o.Listen)
		if err == nil {
			listenHost = h
			listenPort, err = strconv.Atoi(p)
		}
		if err != nil || listenPort < 0 || listenPort > 65535 {
			return o, settingErr("Listen", o.Listen, "want HOST:PORT, such as 127.0.0.1:8080 or :443")
		}
	}
	if err := checkPort("MediaPort", o.MediaPort, false); err != nil {
		return o, err
	}
	if err := checkPort("MediaTCPPort", o.MediaTCPPort, true); err != nil {
		return o, err
	}
	if o.MediaPort == PortFromListen {
		o.MediaPort = listenPort
	}
	if o.MediaTCPPort == PortFromListen {
		o.MediaTCPPort = 0
		if listenPort != 0 {
			o.MediaTCPPort = listenPort + 1
		}
	}
	if o.MediaTCPPort > 65535 {
		return o, settingErr("MediaTCPPort", strconv.Itoa(o.MediaTCPPort), "the port after the listen port is out of range: choose one")
	}
	if o.MediaIP != "" {
		if _, err := netip.ParseAddr(o.MediaIP); err != nil {
			return o, settingErr("MediaIP", o.MediaIP, "not an IP address")
		}
	} else {
		o.MediaIP = mediaBindIP(listenHost)
	}
	for _, ip := range o.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return o, settingErr("PublicIPs", ip, "not an IP address")
		}
	}
	if o.Slots < 1 || o.Slots > sfu.MaxSlots {
		return o, settingErr("Slots", strconv.Itoa(o.Slots), fmt.Sprintf("must be 1..%d", sfu.MaxSlots))
	}
	if o.VideoSlots < 0 || o.VideoSlots > sfu.MaxVideoSlots {
		return o, settingErr("VideoSlots", strconv.Itoa(o.VideoSlots), fmt.Sprintf("must be 0..%d (0: no video)", sfu.MaxVideoSlots))
	}
	if o.PublicURL != "" {
		if u, err := url.Parse(o.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, settingErr("PublicURL", o.PublicURL, "want a URL such as https://talk.example.org")
		}
	}
	if err := o.checkTLS(); err != nil {
		return o, err
	}
	if err := o.checkTURN(); err != nil {
		return o, err
	}
	return o, o.checkCluster()
}

// checkPort checks a port setting; offOrAny allows AnyPort (where 0
// means none).
func checkPort(setting string, p int, offOrAny bool) error {
	if p == PortFromListen || (offOrAny && p == AnyPort) || (p >= 0 && p <= 65535) {
		return nil
	}
	return settingErr(setting, strconv.Itoa(p), "must be 1..65535 (or 0: "+map[bool]string{true: "none", false: "any free port"}[offOrAny]+")")
}

func (o Options) checkTLS() error {
	modes := 0
	for _, on := range []bool{o.TLS.CertFile != "" || o.TLS.KeyFile != "", o.TLS.ACMEEmail != "", o.TLS.LAN} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return settingErr("TLS", "", "choose one of CertFile/KeyFile, ACMEEmail and LAN")
	}
	if (o.TLS.CertFile == "") != (o.TLS.KeyFile == "") {
		return settingErr("TLS", "", "CertFile and KeyFile go together")
	}
	if o.TLS.ACMEEmail != "" {
		u, err := url.Parse(o.PublicURL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
			return settingErr("TLS.ACMEEmail", o.TLS.ACMEEmail, "needs PublicURL https://NAME (a DNS name, not an address)")
		}
	}
	return nil
}

func (o Options) checkTURN() error {
	t := o.TURN
	if !t.Enabled {
		return nil
	}
	if t.Port < 0 || t.Port > 65535 {
		return settingErr("TURN.Port", strconv.Itoa(t.Port), "must be 1..65535 (or 0: any free port)")
	}
	if p := t.TLSPort; p != AnyPort && (p < 0 || p > 65535) {
		return settingErr("TURN.TLSPort", strconv.Itoa(p), "must be 1..65535 (or 0: none)")
	}
	if t.TLSPort != 0 && o.TLS.CertFile == "" {
		return settingErr("TURN.TLSPort", strconv.Itoa(t.TLSPort), "needs TLS.CertFile and TLS.KeyFile")
	}
	if t.RelayPortMin < 1024 || t.RelayPortMax > 65535 || t.RelayPortMin > t.RelayPortMax {
		return settingErr("TURN.RelayPorts", fmt.Sprintf("%d-%d", t.RelayPortMin, t.RelayPortMax), "want LOW-HIGH within 1024-65535")
	}
	if t.Secret != "" && len(t.Secret) < turn.MinSecretLen {
		return settingErr("TURN.Secret", "", fmt.Sprintf("must be at least %d bytes", turn.MinSecretLen))
	}
	if t.TTL < 0 {
		return settingErr("TURN.TTL", t.TTL.String(), "must be positive")
	}
	return nil
}

func (o Options) checkCluster() error {
	c := o.Cluster
	if c.Bind == "" {
		if len(c.Join) > 0 || c.KeyFile != "" {
			return &SettingError{Setting: "Cluster.Bind", Err: errors.New("Cluster.Join and Cluster.KeyFile need Cluster.Bind")}
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Bind); err != nil {
		return settingErr("Cluster.Bind", c.Bind, "want HOST:PORT, such as 0.0.0.0:7946")
	}
	if c.DrainTimeout < 0 {
		return settingErr("Cluster.DrainTimeout", c.DrainTimeout.String(), "must be positive")
	}
	return nil
}

// mediaBindIP is where media sockets bind when MediaIP is not given: the
// listen host when it is loopback (a laptop: nothing leaves the machine),
// else every interface ("").
func mediaBindIP(listenHost string) string {
	if a, err := netip.ParseAddr(listenHost); err == nil && a.IsLoopback() {
		return listenHost
	}
	if listenHost == "localhost" {
		return "127.0.0.1"
	}
	return ""
}
