package main

import (
	"bufio"
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
	"time"

	"palabre/signaling"
)

func room(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: palabre room create|show|list|delete|set-password|set-mode ...")
		return 2
	}
	switch args[0] {
	case "create":
		return roomCreate(args[1:], stdin, stdout, stderr)
	case "show":
		return roomShow(args[1:], stdout, stderr)
	case "list":
		return roomList(args[1:], stdout, stderr)
	case "delete", "set-password", "set-mode":
		return roomChange(args[0], args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "palabre room: unknown command %q (want create, show, list, delete, set-password or set-mode)\n", args[0])
	return 2
}

// positionals parses the flags wherever they stand among the words, so
// both "create NAME --mode ptt" and "create --mode ptt NAME" work, and
// returns the words.
func positionals(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return words, nil
		}
		words, args = append(words, args[0]), args[1:]
	}
}

// splitName is positionals for commands that take exactly one room name.
func splitName(fs *flag.FlagSet, args []string) (string, error) {
	words, err := positionals(fs, args)
	switch {
	case err != nil:
		return "", err
	case len(words) == 0:
		return "", errors.New("missing room NAME")
	case len(words) > 1:
		return "", fmt.Errorf("unexpected argument %q", words[1])
	}
	return words[0], nil
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
	fs := flag.NewFlagSet("room create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "server `URL`")
	mode := fs.String("mode", "open", "open, ptt or moderated")
	pwStdin := fs.Bool("password-stdin", false, "read the room password from the first line of standard input")
	maxP := fs.Int("max-participants", 0, "participant limit (0: none)")
	maxS := fs.Int("max-speakers", 0, "simultaneous speakers in ptt and moderated rooms (0: mode default)")
	token := fs.String("token", firstNonEmpty(os.Getenv("PALABRE_CREATE_TOKEN"), os.Getenv("PALABRE_ADMIN_TOKEN")), "room creation or admin `token`, if the server needs one (env PALABRE_CREATE_TOKEN or PALABRE_ADMIN_TOKEN)")
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	name, err := splitName(fs, args)
	if err != nil {
		fmt.Fprintln(stderr, "room create:", err)
		return 2
	}
	req := signaling.CreateRoomRequest{Name: name, Mode: *mode, MaxParticipants: *maxP, MaxSpeakers: *maxS}
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
	fs := flag.NewFlagSet("room show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "server `URL`")
	name, err := splitName(fs, args)
	if err != nil {
		fmt.Fprintln(stderr, "room show:", err)
		return 2
	}
	hreq, err := http.NewRequest(http.MethodGet, apiURL(*server, "/api/v1/rooms/"+url.PathEscape(name)), nil)
	if err != nil {
		fmt.Fprintln(stderr, "room show:", err)
		return 2
	}
	var st signaling.RoomStatus
	if _, err := call(hreq, http.StatusOK, &st); err != nil {
		fmt.Fprintln(stderr, "room show:", err)
		return 1
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

func apiURL(server, path string) string {
	return strings.TrimRight(server, "/") + path
}

// call does the request and decodes a JSON answer, turning API errors into
// readable ones. It returns the raw body too.
func call(req *http.Request, want int, into any) ([]byte, error) {
	c := &http.Client{Timeout: 15 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the server: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		var ae signaling.APIError
		if json.Unmarshal(raw, &ae) == nil && ae.Error.Code != "" {
			return raw, fmt.Errorf("%s (%s)", ae.Error.Message, ae.Error.Code)
		}
		return raw, fmt.Errorf("server answered %s", resp.Status)
	}
	if into == nil {
		return raw, nil
	}
	return raw, json.Unmarshal(raw, into)
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
