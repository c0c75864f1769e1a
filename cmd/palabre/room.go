package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"palabre/signaling"
)

const roomUsage = `Usage: palabre room COMMAND NAME [flags]

Commands:
  create NAME        create a room on a running server
  show NAME          show a room's settings
  list               list the rooms (admin token)
  delete NAME        delete a room (admin token)
  set-password NAME  change or remove a room's password (admin token)
  set-mode NAME MODE change a room's mode: open, ptt or moderated (admin token)

Run 'palabre room COMMAND --help' for a command's flags.
`

func room(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	change := func(cmd string) func([]string) int {
		return func(a []string) int { return roomChange(cmd, a, stdin, stdout, stderr) }
	}
	return subcommands("room", roomUsage, args, stdout, stderr, map[string]func([]string) int{
		"create":       func(a []string) int { return roomCreate(a, stdin, stdout, stderr) },
		"show":         func(a []string) int { return roomShow(a, stdout, stderr) },
		"list":         func(a []string) int { return roomList(a, stdout, stderr) },
		"delete":       change("delete"),
		"set-password": change("set-password"),
		"set-mode":     change("set-mode"),
	})
}

// readLine reads one line (a password) from standard input.
func readLine(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func roomCreate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("room create", "room create NAME [flags]",
		"Creates a room on a running server and prints its participant and organizer links.")
	server := fs.String("server", defaultServer, "server `URL`")
	mode := fs.String("mode", "open", "open, ptt or moderated")
	pwStdin := fs.Bool("password-stdin", false, "read the room password from the first line of standard input")
	maxP := fs.Int("max-participants", 0, "participant limit (0: none)")
	maxS := fs.Int("max-speakers", 0, "simultaneous speakers in ptt and moderated rooms (0: mode default)")
	token := fs.String("token", firstNonEmpty(os.Getenv("PALABRE_CREATE_TOKEN"), os.Getenv("PALABRE_ADMIN_TOKEN")), "room creation or admin `token`, if the server needs one (env PALABRE_CREATE_TOKEN or PALABRE_ADMIN_TOKEN)")
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	words, code, ok := parseName(fs, args, "NAME", stdout, stderr)
	if !ok {
		return code
	}
	if err := checkServerURL(*server); err != nil {
		fmt.Fprintln(stderr, "room create:", err)
		return 2
	}
	req := signaling.CreateRoomRequest{Name: words[0], Mode: *mode, MaxParticipants: *maxP, MaxSpeakers: *maxS}
	if *pwStdin {
		line, err := readLine(stdin)
		if err != nil {
			fmt.Fprintln(stderr, "room create: reading the password:", err)
			return 1
		}
		req.Password = line
		if req.Password == "" {
			fmt.Fprintln(stderr, "room create: --password-stdin given but standard input has no password")
			return 2
		}
	}
	body, _ := json.Marshal(req)
	hreq, err := http.NewRequest(http.MethodPost, apiURL(*server, "/api/v1/rooms"), bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(stderr, "room create:", err)
		return 2
	}
	hreq.Header.Set("Content-Type", "application/json")
	if *token != "" {
		hreq.Header.Set("Authorization", "Bearer "+*token)
	}
	var resp signaling.CreateRoomResponse
	raw, err := call(hreq, http.StatusCreated, &resp)
	if err != nil {
		fmt.Fprintln(stderr, "room create:", err)
		return 1
	}
	if *asJSON {
		stdout.Write(raw)
		return 0
	}
	fmt.Fprintf(stdout, "Room %q created (mode %s, password: %s).\n\n", resp.Room.Name, resp.Room.Mode, yesNo(resp.Room.HasPassword))
	fmt.Fprintf(stdout, "Participant link:  %s\n", resp.Link)
	fmt.Fprintf(stdout, "Organizer link:    %s\n", resp.OrganizerLink)
	fmt.Fprintf(stdout, "Organizer secret:  %s\n\n", resp.OrganizerSecret)
	fmt.Fprintln(stdout, "Keep the organizer secret: it is shown only this once.")
	return 0
}

func roomShow(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("room show", "room show NAME [flags]", "Shows a room's public settings and how many people are in it.")
	server := fs.String("server", defaultServer, "server `URL`")
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	words, code, ok := parseName(fs, args, "NAME", stdout, stderr)
	if !ok {
		return code
	}
	if err := checkServerURL(*server); err != nil {
		fmt.Fprintln(stderr, "room show:", err)
		return 2
	}
	hreq, err := http.NewRequest(http.MethodGet, apiURL(*server, "/api/v1/rooms/"+url.PathEscape(words[0])), nil)
	if err != nil {
		fmt.Fprintln(stderr, "room show:", err)
		return 2
	}
	var st signaling.RoomStatus
	raw, err := call(hreq, http.StatusOK, &st)
	if err != nil {
		fmt.Fprintln(stderr, "room show:", err)
		return 1
	}
	if *asJSON {
		stdout.Write(raw)
		return 0
	}
	r := st.Room
	fmt.Fprintf(stdout, "name:          %s\nmode:          %s\npassword:      %s\nlocked:        %s\nmax speakers:  %d\nparticipants:  %d",
		r.Name, r.Mode, yesNo(r.HasPassword), yesNo(r.Locked), r.MaxSpeakers, st.Participants)
	if r.MaxParticipants > 0 {
		fmt.Fprintf(stdout, " of %d", r.MaxParticipants)
	}
	fmt.Fprintln(stdout)
	return 0
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
