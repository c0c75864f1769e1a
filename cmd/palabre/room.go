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
		fmt.Fprintln(stderr, "usage: palabre room create|show NAME [flags]")
		return 2
	}
	switch args[0] {
	case "create":
		return roomCreate(args[1:], stdin, stdout, stderr)
	case "show":
		return roomShow(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "palabre room: unknown command %q (want create or show)\n", args[0])
	return 2
}

// splitName takes the room name wherever it stands among the flags, so
// both "create NAME --mode ptt" and "create --mode ptt NAME" work.
func splitName(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if name != "" {
			return "", fmt.Errorf("unexpected argument %q", args[0])
		}
		name, args = args[0], args[1:]
	}
	if name == "" {
		return "", errors.New("missing room NAME")
	}
	return name, nil
}

func roomCreate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("room create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "server `URL`")
	mode := fs.String("mode", "open", "open, ptt or moderated")
	pwStdin := fs.Bool("password-stdin", false, "read the room password from the first line of standard input")
	maxP := fs.Int("max-participants", 0, "participant limit (0: none)")
	maxS := fs.Int("max-speakers", 0, "simultaneous speakers in ptt and moderated rooms (0: mode default)")
	token := fs.String("token", os.Getenv("PALABRE_CREATE_TOKEN"), "room creation `token`, if the server needs one (env PALABRE_CREATE_TOKEN)")
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	name, err := splitName(fs, args)
	if err != nil {
		fmt.Fprintln(stderr, "room create:", err)
		return 2
	}
	req := signaling.CreateRoomRequest{Name: name, Mode: *mode, MaxParticipants: *maxP, MaxSpeakers: *maxS}
	if *pwStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintln(stderr, "room create: reading the password:", err)
			return 1
		}
		req.Password = strings.TrimRight(line, "\r\n")
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
	return raw, json.Unmarshal(raw, into)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
