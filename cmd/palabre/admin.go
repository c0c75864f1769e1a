package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"palabre/server"
	"palabre/signaling"
	"palabre/signaling/proto"
)

// admin runs "palabre admin token": a new admin token, shown once; the
// server keeps its hash in the data directory and accepts it at once.
const adminUsage = `Usage: palabre admin token [--data DIR]

Commands:
  token   create an admin token for the room and cluster commands

Run 'palabre admin token --help' for its flags.
`

func admin(args []string, stdout, stderr io.Writer) int {
	return subcommands("admin", adminUsage, args, stdout, stderr, map[string]func([]string) int{
		"token": func(a []string) int { return adminToken(a, stdout, stderr) },
	})
}

func adminToken(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("admin token", "admin token [--data DIR]",
		"Creates an admin token, shown once; the server (on this machine, with this data\ndirectory) keeps its hash and accepts it at once.")
	data := fs.String("data", server.DefaultDataDir, "the server's data `directory`")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	token, err := signaling.NewAdminToken(*data)
	if err != nil {
		fmt.Fprintln(stderr, "admin token:", err)
		return 1
	}
	fmt.Fprintln(stdout, token)
	fmt.Fprintln(stderr, "Admin token created (shown only this once). Keep it in a file readable by you only and pass it with --admin-token-file, or set PALABRE_ADMIN_TOKEN.")
	return 0
}

// adminFlags are the flags of the room commands that need an admin token.
type adminFlags struct {
	server    *string
	tokenFile *string
}

func addAdminFlags(fs *flag.FlagSet) adminFlags {
	return adminFlags{
		server:    fs.String("server", defaultServer, "server `URL`"),
		tokenFile: fs.String("admin-token-file", "", "`file` holding an admin token (default: $PALABRE_ADMIN_TOKEN)"),
	}
}

func (a adminFlags) token() (string, error) {
	if *a.tokenFile != "" {
		b, err := os.ReadFile(*a.tokenFile)
		if err != nil {
			return "", fmt.Errorf("admin token: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t := os.Getenv("PALABRE_ADMIN_TOKEN"); t != "" {
		return t, nil
	}
	return "", errors.New("needs an admin token: --admin-token-file FILE or PALABRE_ADMIN_TOKEN (create one with: palabre admin token)")
}

// adminCall sends one admin request and decodes the answer into out.
func (a adminFlags) call(method, path string, body any, want int, out any) error {
	if err := checkServerURL(*a.server); err != nil {
		return err
	}
	token, err := a.token()
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, apiURL(*a.server, path), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	_, err = call(req, want, out)
	var ae *apiError
	if errors.As(err, &ae) && ae.code == proto.CodeNotAllowed {
		return fmt.Errorf("the server refused the admin token, or there is no such room: %w", err)
	}
	return err
}

func roomList(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("room list", "room list [flags]", "Lists the rooms of the server, with where each lives in a cluster (needs an admin token).")
	a := addAdminFlags(fs)
	asJSON := fs.Bool("json", false, "print the server's answer as JSON")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	var list []signaling.RoomStatus
	if err := a.call(http.MethodGet, "/api/v1/rooms", nil, http.StatusOK, &list); err != nil {
		fmt.Fprintln(stderr, "room list:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMODE\tPASSWORD\tLOCKED\tPARTICIPANTS\tNODE")
	for _, st := range list {
		// In a cluster, participants are those on the node asked; NODE
		// is where the room lives.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", st.Room.Name, st.Room.Mode, yesNo(st.Room.HasPassword), yesNo(st.Room.Locked), st.Participants, st.Node)
	}
	tw.Flush()
	return 0
}

// roomChange runs delete, set-password and set-mode.
func roomChange(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	about := map[string]struct{ names, text string }{
		"delete":       {"NAME", "Deletes a room (needs an admin token)."},
		"set-password": {"NAME", "Changes a room's password, read from standard input; an empty line removes it (needs an admin token)."},
		"set-mode":     {"NAME MODE", "Changes a room's mode to open, ptt or moderated (needs an admin token)."},
	}[cmd]
	fs := newFlagSet("room "+cmd, "room "+cmd+" "+about.names+" [flags]", about.text)
	a := addAdminFlags(fs)
	var pwStdin *bool
	if cmd == "set-password" {
		pwStdin = fs.Bool("password-stdin", false, "read the new password from standard input (empty line: remove it)")
	}
	words, code, ok := parseName(fs, args, about.names, stdout, stderr)
	if !ok {
		return code
	}
	var err error
	path := "/api/v1/rooms/" + url.PathEscape(words[0])
	switch cmd {
	case "delete":
		err = a.call(http.MethodDelete, path, nil, http.StatusNoContent, nil)
	case "set-mode":
		err = a.call(http.MethodPatch, path, signaling.UpdateRoomRequest{Mode: words[1]}, http.StatusOK, nil)
	case "set-password":
		if !*pwStdin {
			fmt.Fprintln(stderr, "room set-password: give the password with --password-stdin")
			return 2
		}
		line, rerr := readLine(stdin)
		if rerr != nil {
			fmt.Fprintln(stderr, "room set-password:", rerr)
			return 1
		}
		err = a.call(http.MethodPatch, path, signaling.UpdateRoomRequest{Password: &line}, http.StatusOK, nil)
	}
	if err != nil {
		fmt.Fprintf(stderr, "room %s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "room %s: done\n", cmd)
	return 0
}
