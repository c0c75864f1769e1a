package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"palabre/server"
)

// Settings come from four places, first match wins: a command-line flag,
// an environment variable PALABRE_<FLAG> (dashes become underscores), the
// TOML config file (--config, keys named like the flags), the default.
// A repeatable flag takes a TOML array, or commas in the environment.

// secretSettings are masked by "config show".
var secretSettings = map[string]bool{"create-token": true, "turn-secret": true}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "PALABRE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyConfig fills the flags not given on the command line, from the
// environment then from the config file. It returns where each setting
// came from ("flag", "env", "file" or "default").
func applyConfig(fs *flag.FlagSet, configFile string, getenv func(string) string) (map[string]string, error) {
	source := make(map[string]string)
	fs.VisitAll(func(f *flag.Flag) { source[f.Name] = "default" })
	fs.Visit(func(f *flag.Flag) { source[f.Name] = "flag" })
	if configFile == "" {
		configFile = getenv(envName("config"))
	}
	var file map[string][]string
	if configFile != "" {
		var err error
		if file, err = readConfigFile(configFile, fs); err != nil {
			return nil, err
		}
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if source[f.Name] == "flag" || f.Name == "config" {
			return
		}
		var values []string
		from := ""
		if v := getenv(envName(f.Name)); v != "" {
			values, from = []string{v}, "env"
			if _, repeatable := f.Value.(*listFlag); repeatable {
				values = strings.Split(v, ",")
			}
		} else if v, ok := file[f.Name]; ok {
			values, from = v, "file"
		}
		for _, v := range values {
			if err := fs.Set(f.Name, strings.TrimSpace(v)); err != nil {
				errs = append(errs, fmt.Errorf("%s from %s: %w", f.Name, from, err))
				return
			}
		}
		if from != "" {
			source[f.Name] = from
		}
	})
	return source, errors.Join(errs...)
}

// readConfigFile reads a flat TOML file of flag settings. Unknown keys
// and tables are errors naming their line: a typo must not be ignored.
func readConfigFile(path string, fs *flag.FlagSet) (map[string][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %s", path, line, col, de.Error())
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	lines := keyLines(data)
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return lines[keys[i]] < lines[keys[j]] })
	out := make(map[string][]string, len(doc))
	for _, k := range keys {
		where := fmt.Sprintf("%s:%d", path, lines[k])
		if fs.Lookup(k) == nil || k == "config" {
			return nil, fmt.Errorf("%s: unknown setting %q (settings are named like the flags of palabre serve)", where, k)
		}
		vals, err := settingValues(doc[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", where, k, err)
		}
		out[k] = vals
	}
	return out, nil
}

func settingValues(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case bool:
		return []string{strconv.FormatBool(v)}, nil
	case int64:
		return []string{strconv.FormatInt(v, 10)}, nil
	case float64:
		return []string{strconv.FormatFloat(v, 'g', -1, 64)}, nil
	case []any:
		var out []string
		for _, e := range v {
			s, err := settingValues(e)
			if err != nil || len(s) != 1 {
				return nil, errors.New("arrays hold plain values only")
			}
			out = append(out, s...)
		}
		return out, nil
	case map[string]any:
		return nil, errors.New("tables are not used: write key = value at the top level")
	}
	return nil, fmt.Errorf("unsupported value %v", v)
}

// keyLines finds the line of every top-level key of a TOML document.
func keyLines(data []byte) map[string]int {
	lines := make(map[string]int)
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.KeyValue && e.Kind != unstable.Table && e.Kind != unstable.ArrayTable {
			continue
		}
		it := e.Key()
		if !it.Next() {
			continue
		}
		n := it.Node()
		lines[string(n.Data)] = lineOf(&p, n)
	}
	return lines
}

func lineOf(p *unstable.Parser, n *unstable.Node) (line int) {
	defer func() {
		if recover() != nil { // a quoted key's bytes are not in the input
			line = 0
		}
	}()
	return p.Shape(p.Range(n.Data)).Start.Line
}

const configUsage = `Usage: palabre config show [--config FILE] [serve flags]

Commands:
  show   print every setting of palabre serve, its effective value and where it came from

Run 'palabre config show --help' for its flags (those of palabre serve).
`

// configCmd runs "palabre config show".
func configCmd(args []string, stdout, stderr io.Writer) int {
	return subcommands("config", configUsage, args, stdout, stderr, map[string]func([]string) int{
		"show": func(a []string) int { return configShow(a, stdout, stderr) },
	})
}

// configShow prints every setting of palabre serve, its effective value
// and where it came from, secrets masked.
func configShow(args []string, stdout, stderr io.Writer) int {
	fs, f := newServeFlags(stderr)
	fs.Init("config show", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: palabre config show [--config FILE] [serve flags]\n\n"+
			"Prints every setting of palabre serve, its effective value and where it came from\n"+
			"(flag, env, file or default), secrets masked. It takes the flags of palabre serve:\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	source, err := applyConfig(fs, f.configFile, os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "config:", err)
		return 1
	}
	if f.o.TLS.LAN && source["listen"] == "default" {
		f.o.Listen = ":8443"
	}
	o, err := f.options()
	if err == nil {
		o, err = o.Effective()
	}
	if err != nil {
		fmt.Fprintln(stderr, "config:", explain(err, source))
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM")
	fs.VisitAll(func(fl *flag.Flag) {
		v, from := fl.Value.String(), source[fl.Name]
		switch {
		case secretSettings[fl.Name] && v != "":
			v = "********"
		case fl.Name == "listen":
			v = o.Listen
		case fl.Name == "media-port" && from == "default":
			v, from = strconv.Itoa(o.MediaPort), "default: the listen port"
			if o.MediaPort == 0 {
				from += " (0: any free port)"
			}
		case fl.Name == "media-tcp-port" && from == "default":
			v, from = strconv.Itoa(o.MediaTCPPort), "default: the listen port + 1"
			if o.MediaTCPPort == 0 {
				v, from = "0", "default: none, as the listen port is 0"
			}
		case fl.Name == "turn-secret":
			v, from = turnSecretSource(o)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", fl.Name, v, from)
	})
	tw.Flush()
	return 0
}

// turnSecretSource says where the TURN secret comes from when none is
// given.
func turnSecretSource(o server.Options) (value, from string) {
	if !o.TURN.Enabled {
		return "", "unused: TURN is off"
	}
	switch origin, file := o.TURNSecretOrigin(); origin {
	case server.SecretFromClusterKey:
		return "(derived)", "derived from the cluster key (--cluster-key-file)"
	case server.SecretGenerated:
		if _, err := os.Stat(file); err == nil {
			return "(generated)", "generated earlier, kept in " + file
		}
		return "(generated)", "generated at the first start, kept in " + file
	}
	return "********", "given"
}
