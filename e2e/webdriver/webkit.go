package webdriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// FindWebKit returns Debian's WebKitGTK driver and browser
// (webkit2gtk-driver's WebKitWebDriver, libwebkit2gtk's MiniBrowser), or
// $WEBKIT_DRIVER and $WEBKIT_BROWSER; "" for what is missing.
func FindWebKit() (driver, browser string) {
	for _, p := range []string{os.Getenv("WEBKIT_DRIVER"), "WebKitWebDriver"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			driver = path
			break
		}
	}
	candidates := []string{os.Getenv("WEBKIT_BROWSER")}
	for _, pattern := range []string{"/usr/lib/*/webkit2gtk-4.1/MiniBrowser", "/usr/lib/*/webkit2gtk-4.0/MiniBrowser", "/usr/libexec/webkit2gtk-4.1/MiniBrowser"} {
		m, _ := filepath.Glob(pattern)
		candidates = append(candidates, m...)
	}
	for _, p := range candidates {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			browser = p
			break
		}
	}
	return driver, browser
}

// DriverOptions say how to run a driver.
type DriverOptions struct {
	Binary string   // "" is FindWebKit's driver
	Env    []string // more environment (DISPLAY=…)
	Output io.Writer
}

// Driver is a running WebDriver server (WebKitWebDriver), on 127.0.0.1.
type Driver struct {
	*Client
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// StartDriver runs the driver on a free port of 127.0.0.1 and waits
// until it answers /status.
func StartDriver(ctx context.Context, opts DriverOptions) (*Driver, error) {
	bin := opts.Binary
	if bin == "" {
		if bin, _ = FindWebKit(); bin == "" {
			return nil, errors.New("webdriver: no WebKitWebDriver (apt-get install webkit2gtk-driver)")
		}
	}
	// A free port: the driver takes a number, not 0. Another process
	// could take it meanwhile; the caller retries then.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webdriver: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port="+strconv.Itoa(port), "--host=127.0.0.1")
	cmd.Env = append(os.Environ(), opts.Env...)
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("webdriver: starting %s: %w", bin, err)
	}
	d := &Driver{
		Client: &Client{URL: fmt.Sprintf("http://127.0.0.1:%d", port), HTTP: &http.Client{Transport: &http.Transport{Proxy: nil}}},
		cmd:    cmd, exited: make(chan struct{}),
	}
	go func() {
		cmd.Wait()
		close(d.exited)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var st struct {
			Ready bool `json:"ready"`
		}
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		err := d.do(sctx, http.MethodGet, "/status", nil, &st)
		cancel()
		if err == nil {
			return d, nil
		}
		select {
		case <-d.exited:
			return nil, fmt.Errorf("webdriver: %s exited (%v)", bin, cmd.ProcessState)
		case <-ctx.Done():
			d.Close()
			return nil, fmt.Errorf("webdriver: waiting for %s: %w (%v)", bin, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Exited is closed when the driver process has ended.
func (d *Driver) Exited() <-chan struct{} { return d.exited }

// Close ends the driver (and with it any browser it still runs).
func (d *Driver) Close() error {
	d.once.Do(func() {
		d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
	})
	return nil
}

// WebKitCapabilities are the capabilities of a MiniBrowser session:
// browser is its path, args more MiniBrowser options
// (--enable-mock-capture-devices=true…). --automation is added.
func WebKitCapabilities(browser string, acceptInsecureCerts bool, args ...string) map[string]any {
	return map[string]any{
		"acceptInsecureCerts": acceptInsecureCerts,
		"webkitgtk:browserOptions": map[string]any{
			"binary": browser,
			"args":   append([]string{"--automation"}, args...),
		},
	}
}
