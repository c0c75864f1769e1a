// Command palabre is the Palabre server and its operator tools.
//
//	palabre serve                      run a server with working defaults
//	palabre room create NAME ...       create a room on a running server
//	palabre room show NAME ...         show a room's public settings
//	palabre loadtest ...               measure a server with real WebRTC participants
//	palabre check ...                  test a deployment as a participant would reach it
//	palabre version
package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const (
	loadtestDefaultTurn     = 5 * time.Second
	loadtestDefaultDuration = 30 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "help" && len(args) > 1 {
		// "palabre help room" is "palabre room --help".
		return run([]string{args[1], "--help"}, stdin, stdout, stderr)
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "room":
		return room(args[1:], stdin, stdout, stderr)
	case "loadtest":
		return loadTest(args[1:], stdout, stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "cluster":
		return clusterCmd(args[1:], stdout, stderr)
	case "drain":
		return drainCmd(args[1:], stdout, stderr)
	case "admin":
		return admin(args[1:], stdout, stderr)
	case "config":
		return configCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		if len(args) > 1 && isHelp(args[1]) {
			fmt.Fprintln(stdout, "Usage: palabre version\n\nPrints the version of this palabre binary.")
			return 0
		}
		fmt.Fprintln(stdout, "palabre", version)
		return 0
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "palabre: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Palabre: audio rooms with push-to-talk, joined from a browser link.

Usage:
  palabre serve [flags]                 run the server (try: palabre serve -h)
  palabre room create NAME [flags]      create a room on a running server
  palabre room show NAME [flags]        show a room's settings
  palabre room list|delete|set-password|set-mode ...   manage rooms (admin token)
  palabre admin token [--data DIR]      create an admin token for the room commands
  palabre loadtest [flags]              measure a server with simulated participants
  palabre check [--server URL]          test a deployment: web, signaling, UDP, TCP, TURN
  palabre cluster keygen [--out FILE]   make the key every node of a cluster shares
  palabre cluster nodes [--server URL]  list a cluster's nodes, their state and load (admin token)
  palabre drain [--server URL]          move a node's rooms to the others, then stop it (admin token)
  palabre config show [--config FILE]   print every setting, its value and its source
  palabre version                       print the version

Run 'palabre COMMAND --help' for a command's flags.

With no flags, "palabre serve" listens on http://127.0.0.1:8080, carries
media on UDP 127.0.0.1:8080 and keeps its data in ./palabre-data.
`)
}
