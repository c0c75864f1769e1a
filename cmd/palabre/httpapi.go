package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"palabre/signaling"
)

const defaultServer = "http://127.0.0.1:8080"

// checkServerURL checks a --server value: a browser-style URL.
func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server %s: want a URL such as %s or https://talk.example.org", s, defaultServer)
	}
	return nil
}

// reachError says in one line why the server at server could not be
// reached.
func reachError(server string, err error) error {
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var certErr *x509.HostnameError
	why := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		why = ue.Err.Error()
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "nothing listens there: is palabre serve running, and are the address and port right?"
	case errors.As(err, &dnsErr):
		why = "no such host name"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) || isTimeout(err):
		why = "no answer in time: a firewall may drop the connection"
	case errors.As(err, &unknownCA) || errors.As(err, &certErr):
		why = "its certificate is not trusted here: " + why
	case strings.Contains(why, "server gave HTTP response to HTTPS client"):
		why = "it speaks HTTP, not HTTPS: use http://"
	}
	return fmt.Errorf("cannot reach the server at %s: %s", server, why)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// apiError is an error answer of the server's API. Its message is for
// people; the code is for programs.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func apiURL(server, path string) string {
	return strings.TrimRight(server, "/") + path
}

// call does the request and decodes a JSON answer, turning API errors
// into *apiError and transport errors into one readable line. It returns
// the raw body too.
func call(req *http.Request, want int, into any) ([]byte, error) {
	c := &http.Client{Timeout: 15 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, reachError(req.URL.Scheme+"://"+req.URL.Host, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		var ae signaling.APIError
		if json.Unmarshal(raw, &ae) == nil && ae.Error.Code != "" {
			return raw, &apiError{status: resp.StatusCode, code: ae.Error.Code, message: ae.Error.Message}
		}
		return raw, &apiError{status: resp.StatusCode, message: "the server answered " + resp.Status + " (is it a Palabre server?)"}
	}
	if into == nil {
		return raw, nil
	}
	return raw, json.Unmarshal(raw, into)
}
