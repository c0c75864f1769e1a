package bidi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// FindFirefox returns the Firefox to run: $FIREFOX, else Debian's
// firefox-esr, else firefox on the PATH ("" if none).
func FindFirefox() string {
	for _, p := range []string{os.Getenv("FIREFOX"), "firefox-esr", "firefox"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// LaunchOptions say how to start Firefox.
type LaunchOptions struct {
	Binary     string // "" is FindFirefox()
	ProfileDir string // a fresh, empty directory (required): gets user.js
	// Prefs are added to (or override) DefaultPrefs in user.js; a nil
	// value leaves a default pref out.
	Prefs map[string]any
	Args  []string // more command-line arguments
	Env   []string // more environment ("NAME=value")
	// Command makes the process (e.g. a network namespace's Command);
	// nil is exec.Command.
	Command func(name string, arg ...string) *exec.Cmd
	// DialContext, if set, connects to the BiDi WebSocket (e.g. from
	// inside the namespace Firefox runs in).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Output receives Firefox's stdout and stderr (nil: discarded).
	Output io.Writer
	// Capabilities of the session. Launch always asks for
	// AcceptInsecureCerts.
	Capabilities Capabilities
}

// Firefox is a running Firefox with its BiDi session.
type Firefox struct {
	*Conn
	URL     string // of the BiDi WebSocket
	Session SessionInfo
	cmd     *exec.Cmd
	exited  chan struct{}
	once    sync.Once
}

// Launch starts a headless Firefox with a fresh profile, connects to its
// BiDi WebSocket and starts the session. The BiDi port is picked by
// Firefox (--remote-debugging-port=0) and read from the profile's
// WebDriverBiDiServer.json.
func Launch(ctx context.Context, opts LaunchOptions) (*Firefox, error) {
	bin := opts.Binary
	if bin == "" {
		if bin = FindFirefox(); bin == "" {
			return nil, errors.New("bidi: no Firefox (apt-get install firefox-esr)")
		}
	}
	if opts.ProfileDir == "" {
		return nil, errors.New("bidi: LaunchOptions.ProfileDir is required")
	}
	prefs := map[string]any{}
	for k, v := range DefaultPrefs {
		prefs[k] = v
	}
	for k, v := range opts.Prefs {
		if v == nil {
			delete(prefs, k)
		} else {
			prefs[k] = v
		}
	}
	userJS, err := UserJS(prefs)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(opts.ProfileDir, "user.js"), userJS, 0o644); err != nil {
		return nil, fmt.Errorf("bidi: %w", err)
	}
	args := append([]string{
		"-headless", "-no-remote", "-new-instance",
		"-profile", opts.ProfileDir,
		"--remote-debugging-port=0",
	}, opts.Args...)
	args = append(args, "about:blank")
	command := opts.Command
	if command == nil {
		command = exec.Command
	}
	cmd := command(bin, args...)
	cmd.Env = append(os.Environ(),
		"MOZ_CRASHREPORTER_DISABLE=1", // no crash reporter, no minidump uploads
		"MOZ_DISABLE_AUTO_SAFE_MODE=1",
		"MOZ_HEADLESS=1",
		// What Mozilla's own test harnesses set: the network layer
		// refuses connections to anything but loopback, and Remote
		// Settings accepts the dummy server of DefaultPrefs (release
		// builds ignore services.settings.server otherwise, and call
		// firefox.settings.services.mozilla.com).
		"MOZ_DISABLE_NONLOCAL_CONNECTIONS=1",
	)
	cmd.Env = append(cmd.Env, opts.Env...)
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bidi: starting %s: %w", bin, err)
	}
	f := &Firefox{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(f.exited)
	}()
	fail := func(err error) (*Firefox, error) {
		f.kill()
		return nil, err
	}
	url, err := f.waitForServer(ctx, opts.ProfileDir)
	if err != nil {
		return fail(err)
	}
	conn, err := Dial(ctx, url, &DialOptions{DialContext: opts.DialContext})
	if err != nil {
		return fail(err)
	}
	f.Conn, f.URL = conn, url
	caps := opts.Capabilities
	caps.AcceptInsecureCerts = true
	if f.Session, err = conn.NewSession(ctx, caps); err != nil {
		conn.Close()
		return fail(err)
	}
	return f, nil
}

// waitForServer waits until Firefox wrote where its BiDi server listens.
func (f *Firefox) waitForServer(ctx context.Context, profile string) (string, error) {
	path := filepath.Join(profile, "WebDriverBiDiServer.json")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if data, err := os.ReadFile(path); err == nil {
			var s struct {
				Host string `json:"ws_host"`
				Port int    `json:"ws_port"`
			}
			if json.Unmarshal(data, &s) == nil && s.Port != 0 {
				return fmt.Sprintf("ws://%s/session", net.JoinHostPort(s.Host, fmt.Sprint(s.Port))), nil
			}
		}
		select {
		case <-f.exited:
			return "", fmt.Errorf("bidi: Firefox exited before its BiDi server started (%v)", f.cmd.ProcessState)
		case <-ctx.Done():
			return "", fmt.Errorf("bidi: waiting for Firefox's BiDi server: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Exited is closed when the Firefox process has ended.
func (f *Firefox) Exited() <-chan struct{} { return f.exited }

// Close ends the browser: browser.close, then a kill if it has not exited
// within 10 s. Close twice is harmless.
func (f *Firefox) Close() error {
	var err error
	f.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = f.CloseBrowser(ctx)
		f.Conn.Close()
		select {
		case <-f.exited:
		case <-ctx.Done():
			err = errors.New("bidi: Firefox did not exit after browser.close: killed")
			f.kill()
		}
	})
	return err
}

func (f *Firefox) kill() {
	f.cmd.Process.Kill()
	<-f.exited
}

// UserJS writes prefs as a user.js file, sorted by name.
func UserJS(prefs map[string]any) ([]byte, error) {
	names := make([]string, 0, len(prefs))
	for k := range prefs {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("// Written by palabre/e2e/bidi for one test run.\n")
	for _, k := range names {
		switch prefs[k].(type) {
		case bool, string, int:
		default:
			return nil, fmt.Errorf("bidi: pref %s: %T is not a bool, string or int", k, prefs[k])
		}
		name, _ := json.Marshal(k)
		value, _ := json.Marshal(prefs[k])
		fmt.Fprintf(&b, "user_pref(%s, %s);\n", name, value)
	}
	return b.Bytes(), nil
}

// DefaultPrefs are the prefs of every profile Launch makes: fake media
// devices without a permission prompt, WebRTC over loopback with plain
// host addresses, and every background service that would talk to the
// network off: a test must send nothing anywhere but to its own server.
var DefaultPrefs = map[string]any{
	// Media: a fake microphone (a tone) and camera, no permission prompt.
	// Autoplay keeps Firefox's defaults: audio plays only after a user
	// gesture, as for people.
	"media.navigator.streams.fake":        true,
	"media.navigator.permission.disabled": true,
	"permissions.default.microphone":      1,
	"permissions.default.camera":          1,
	// WebRTC: loopback candidates, real addresses instead of mDNS names.
	"media.peerconnection.ice.loopback":                 true,
	"media.peerconnection.ice.obfuscate_host_addresses": false,
	// No codec plugin downloads (OpenH264, Widevine).
	"media.gmp-manager.url":            "",
	"media.gmp-manager.updateEnabled":  false,
	"media.gmp-gmpopenh264.enabled":    false,
	"media.gmp-gmpopenh264.autoupdate": false,
	"media.gmp-widevinecdm.enabled":    false,
	"media.gmp-widevinecdm.autoupdate": false,
	"media.gmp-provider.enabled":       false,
	"media.eme.enabled":                false,

	// Name lookups: no DNS over HTTPS, and every name the resolver is
	// asked for is localhost (the tests use addresses, never names).
	"network.trr.mode":                          5,
	"network.trr.uri":                           "",
	"doh-rollout.disable-heuristics":            true,
	"network.dns.native-is-localhost":           true,
	"network.dns.disablePrefetch":               true,
	"network.proxy.type":                        0,
	"network.prefetch-next":                     false,
	"network.predictor.enabled":                 false,
	"network.http.speculative-parallel-limit":   0,
	"browser.urlbar.speculativeConnect.enabled": false,
	"browser.places.speculativeConnect.enabled": false,
	"network.captive-portal-service.enabled":    false,
	"captivedetect.canonicalURL":                "",
	"network.connectivity-service.enabled":      false,
	"network.connectivity-service.IPv4.url":     "",
	"network.connectivity-service.IPv6.url":     "",

	// Updates of the browser, add-ons, search engines, system add-ons.
	"app.update.disabledForTesting":                      true,
	"app.update.auto":                                    false,
	"app.update.checkInstallTime":                        false,
	"app.update.url":                                     "",
	"extensions.update.enabled":                          false,
	"extensions.update.autoUpdateDefault":                false,
	"extensions.systemAddon.update.enabled":              false,
	"extensions.systemAddon.update.url":                  "",
	"extensions.getAddons.cache.enabled":                 false,
	"extensions.getAddons.discovery.api_url":             "",
	"extensions.blocklist.enabled":                       false,
	"extensions.htmlaboutaddons.recommendations.enabled": false,
	"extensions.webservice.discoverURL":                  "",
	"browser.search.update":                              false,
	"browser.search.geoip.url":                           "",
	"browser.region.network.url":                         "",
	"browser.region.update.enabled":                      false,
	"geo.enabled":                                        false,
	"geo.provider.network.url":                           "",

	// Remote settings (the source of many lists and experiments),
	// Normandy and Shield studies, Nimbus experiments.
	"services.settings.server":                        "data:,#remote-settings-dummy/v1",
	"app.normandy.enabled":                            false,
	"app.normandy.api_url":                            "",
	"app.shield.optoutstudies.enabled":                false,
	"messaging-system.rsexperimentloader.enabled":     false,
	"nimbus.rollouts.enabled":                         false,
	"security.remote_settings.crlite_filters.enabled": false,
	"security.remote_settings.intermediates.enabled":  false,
	"browser.translations.enable":                     false,
	"browser.ml.enable":                               false,

	// Telemetry and data reporting.
	"datareporting.healthreport.uploadEnabled":                    false,
	"datareporting.policy.dataSubmissionEnabled":                  false,
	"datareporting.policy.dataSubmissionPolicyBypassNotification": true,
	"datareporting.usage.uploadEnabled":                           false,
	"toolkit.telemetry.enabled":                                   false,
	"toolkit.telemetry.unified":                                   false,
	"toolkit.telemetry.archive.enabled":                           false,
	"toolkit.telemetry.server":                                    "data:,",
	"toolkit.telemetry.reportingpolicy.firstRun":                  false,
	"toolkit.telemetry.shutdownPingSender.enabled":                false,
	"toolkit.telemetry.newProfilePing.enabled":                    false,
	"toolkit.telemetry.firstShutdownPing.enabled":                 false,
	"toolkit.telemetry.updatePing.enabled":                        false,
	"toolkit.telemetry.bhrPing.enabled":                           false,
	"browser.ping-centre.telemetry":                               false,
	"browser.newtabpage.activity-stream.telemetry":                false,
	"browser.newtabpage.activity-stream.feeds.telemetry":          false,
	"browser.crashReports.unsubmittedCheck.autoSubmit2":           false,
	"browser.tabs.crashReporting.sendReport":                      false,

	// Safe Browsing lists and lookups, tracking-protection list updates.
	"browser.safebrowsing.malware.enabled":             false,
	"browser.safebrowsing.phishing.enabled":            false,
	"browser.safebrowsing.downloads.enabled":           false,
	"browser.safebrowsing.downloads.remote.enabled":    false,
	"browser.safebrowsing.blockedURIs.enabled":         false,
	"browser.safebrowsing.passwords.enabled":           false,
	"browser.safebrowsing.update.enabled":              false,
	"browser.safebrowsing.provider.google.updateURL":   "",
	"browser.safebrowsing.provider.google.gethashURL":  "",
	"browser.safebrowsing.provider.google4.updateURL":  "",
	"browser.safebrowsing.provider.google4.gethashURL": "",
	"browser.safebrowsing.provider.mozilla.updateURL":  "",
	"browser.safebrowsing.provider.mozilla.gethashURL": "",
	"privacy.trackingprotection.enabled":               false,
	"privacy.trackingprotection.pbmode.enabled":        false,

	// Push, sync, accounts, certificate checks over the network.
	"dom.push.enabled":                                      false,
	"dom.push.connection.enabled":                           false,
	"dom.push.serverURL":                                    "",
	"identity.fxaccounts.enabled":                           false,
	"services.sync.enabled":                                 false,
	"security.OCSP.enabled":                                 0,
	"security.ssl.enable_ocsp_stapling":                     false,
	"security.certerrors.mitm.priming.enabled":              false,
	"security.certerrors.mitm.auto_enable_enterprise_roots": false,

	// Start pages, new tab page content, first-run pages, UI tours.
	"browser.startup.page":                                        0,
	"browser.startup.homepage":                                    "about:blank",
	"browser.startup.homepage_override.mstone":                    "ignore",
	"startup.homepage_welcome_url":                                "about:blank",
	"startup.homepage_welcome_url.additional":                     "",
	"startup.homepage_override_url":                               "",
	"browser.newtabpage.enabled":                                  false,
	"browser.newtabpage.activity-stream.default.sites":            "",
	"browser.newtabpage.activity-stream.feeds.section.topstories": false,
	"browser.newtabpage.activity-stream.feeds.topsites":           false,
	"browser.newtabpage.activity-stream.feeds.system.topstories":  false,
	"browser.newtabpage.activity-stream.showSponsored":            false,
	"browser.newtabpage.activity-stream.showSponsoredTopSites":    false,
	"browser.topsites.contile.enabled":                            false,
	"browser.discovery.enabled":                                   false,
	"browser.uitour.enabled":                                      false,
	"browser.aboutwelcome.enabled":                                false,
	"browser.shell.checkDefaultBrowser":                           false,
	"browser.sessionstore.resume_from_crash":                      false,
	"toolkit.startup.max_resumed_crashes":                         -1,
	"browser.urlbar.suggest.quicksuggest.sponsored":               false,
	"browser.urlbar.suggest.quicksuggest.nonsponsored":            false,
	"browser.urlbar.quicksuggest.enabled":                         false,
	"extensions.pocket.enabled":                                   false,
	"browser.vpn_promo.enabled":                                   false,
	"browser.contentblocking.report.monitor.enabled":              false,
	"signon.management.page.breach-alerts.enabled":                false,
	"signon.rememberSignons":                                      false,

	// BiDi: the remote agent's own recommended prefs on top of these.
	"remote.prefs.recommended": true,
	"remote.active-protocols":  1, // WebDriver BiDi only
}
