package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"

	"palabre/cluster"
	"palabre/signaling"
)

const clusterUsage = `Usage: palabre cluster COMMAND [flags]

Commands:
  keygen [--out FILE]   make the key every node of a cluster shares
  nodes [--server URL]  list a cluster's nodes, their state and load (admin token)

Run 'palabre cluster COMMAND --help' for a command's flags.
`

// clusterCmd runs "palabre cluster keygen|nodes".
func clusterCmd(args []string, stdout, stderr io.Writer) int {
	return subcommands("cluster", clusterUsage, args, stdout, stderr, map[string]func([]string) int{
		"keygen": func(a []string) int { return clusterKeygen(a, stdout, stderr) },
		"nodes":  func(a []string) int { return clusterNodes(a, stdout, stderr) },
	})
}

func clusterKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("cluster keygen", "cluster keygen [--out FILE]",
		"Makes a new cluster key: copy it to every node (mode 0600) and pass --cluster-key-file.")
	out := fs.String("out", "", "write the key to this `file` (mode 0600) instead of standard output")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	key, err := cluster.GenerateKey()
	if err != nil {
		fmt.Fprintln(stderr, "cluster keygen:", err)
		return 1
	}
	if *out == "" {
		fmt.Fprintln(stdout, key)
		return 0
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintln(stderr, "cluster keygen:", err)
		return 1
	}
	_, err = fmt.Fprintln(f, key)
	if err = errors.Join(err, f.Close()); err != nil {
		fmt.Fprintln(stderr, "cluster keygen:", err)
		return 1
	}
	fmt.Fprintf(stderr, "Cluster key written to %s. Copy it to every node (mode 0600) and pass --cluster-key-file.\n", *out)
	return 0
}

func clusterNodes(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("cluster nodes", "cluster nodes [--server URL] [flags]",
		"Lists the nodes of the cluster the server belongs to, their state and load (needs an admin token).")
	a := addAdminFlags(fs)
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	var resp signaling.NodesResponse
	if err := a.call(http.MethodGet, "/api/v1/cluster/nodes", nil, http.StatusOK, &resp); err != nil {
		fmt.Fprintln(stderr, "cluster nodes:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, resp)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tSTATE\tPARTICIPANTS\tROOMS\tCAPACITY\tREGION\tGOSSIP")
	for _, m := range resp.Nodes {
		id := m.ID
		if m.Local {
			id += " *"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%g\t%s\t%s\n", id, m.URL, m.State, m.Participants, m.Rooms, m.Capacity, m.Region, m.Addr)
	}
	tw.Flush()
	return 0
}

// drainCmd runs "palabre drain": the node stops taking rooms, moves its
// rooms to the others and exits.
func drainCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("drain", "drain [--server URL] [flags]",
		"Moves a cluster node's rooms to the other nodes, then stops it (needs an admin token).")
	a := addAdminFlags(fs)
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	var resp struct {
		Rooms        int `json:"rooms"`
		Participants int `json:"participants"`
	}
	if err := a.call(http.MethodPost, "/api/v1/cluster/drain", nil, http.StatusAccepted, &resp); err != nil {
		fmt.Fprintln(stderr, "drain:", err)
		return 1
	}
	fmt.Fprintf(stdout, "draining %s: moving %d rooms (%d participants) to other nodes; the server exits when they are gone or at its --drain-timeout\n",
		*a.server, resp.Rooms, resp.Participants)
	return 0
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}
