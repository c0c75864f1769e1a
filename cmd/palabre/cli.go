package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns the flag set of "palabre NAME": its usage (on -h or
// --help) shows synopsis, what the command does, and its flags.
func newFlagSet(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: palabre %s\n\n%s\n", synopsis, about)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseWords parses the flags wherever they stand among the words, so
// both "create NAME --mode ptt" and "create --mode ptt NAME" work, and
// returns the words. On -h or --help it prints the usage on stdout; on a
// bad flag, the error and where to find the usage on stderr. ok false
// means the command is over, with exit code code.
func parseWords(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (words []string, code int, ok bool) {
	usage := fs.Usage
	fs.Usage = func() {} // printed below, on the right stream
	defer func() { fs.Usage = usage }()
	fs.SetOutput(stderr)
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fs.SetOutput(stdout)
			usage()
			fs.SetOutput(stderr)
			return nil, 0, false
		case err != nil:
			fmt.Fprintf(stderr, "Run 'palabre %s --help' for its usage.\n", fs.Name())
			return nil, 2, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return words, 0, true
		}
		words, args = append(words, args[0]), args[1:]
	}
}

// parseFlags is parseWords for commands that take no words.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	words, code, ok := parseWords(fs, args, stdout, stderr)
	if ok && len(words) > 0 {
		fmt.Fprintf(stderr, "palabre %s: unexpected argument %q\n", fs.Name(), words[0])
		return 2, false
	}
	return code, ok
}

// parseName is parseWords for commands that take exactly want words
// (named in wantNames, e.g. "NAME MODE").
func parseName(fs *flag.FlagSet, args []string, wantNames string, stdout, stderr io.Writer) (words []string, code int, ok bool) {
	words, code, ok = parseWords(fs, args, stdout, stderr)
	if !ok {
		return nil, code, false
	}
	want := len(strings.Fields(wantNames))
	switch {
	case len(words) < want:
		fmt.Fprintf(stderr, "palabre %s: missing %s\n", fs.Name(), strings.Join(strings.Fields(wantNames)[len(words):], " "))
	case len(words) > want:
		fmt.Fprintf(stderr, "palabre %s: unexpected argument %q\n", fs.Name(), words[want])
	default:
		return words, 0, true
	}
	return nil, 2, false
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// subcommands runs the subcommand named by args[0] of "palabre group",
// or prints the group's usage: on stdout with exit 0 when asked for, on
// stderr with exit 2 when the subcommand is missing or unknown.
func subcommands(group, usage string, args []string, stdout, stderr io.Writer, run map[string]func([]string) int) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) > 0 {
		if f, ok := run[args[0]]; ok {
			return f(args[1:])
		}
		fmt.Fprintf(stderr, "palabre %s: unknown command %q\n\n", group, args[0])
	}
	fmt.Fprint(stderr, usage)
	return 2
}
