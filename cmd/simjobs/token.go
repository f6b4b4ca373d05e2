package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/simjobs/simjobs/server"
)

// tokenCommand edits the tokens file of --auth token (SPEC section 6):
//
//	simjobs token add NAME --role user|admin [--tokens-file F]
//	simjobs token list [--tokens-file F]
//	simjobs token remove NAME [--tokens-file F]
//
// The file is found as serve finds it: --tokens-file, else
// SIMJOBS_TOKENS_FILE in the environment, else in the .env file. A running
// server reloads it by itself.
func tokenCommand(args []string, env lookupEnv, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		tokenUsage(stderr)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("tokens-file", "", "the tokens `file` (default: SIMJOBS_TOKENS_FILE from the environment or .env)")
	envFile := fs.String("env-file", ".env", "`file` of SIMJOBS_* defaults")
	role := ""
	if sub == "add" {
		fs.StringVar(&role, "role", "user", "the token's role: user or admin")
	}
	// The name may come before the flags (token add alice --role admin).
	var name string
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("token %s: unexpected arguments %q", sub, fs.Args())
	}
	path := *file
	if path == "" {
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "env-file" })
		if v, ok := env("SIMJOBS_TOKENS_FILE"); ok {
			path = v
		} else {
			d, err := readDotenv(*envFile, explicit)
			if err != nil {
				return err
			}
			path = d["SIMJOBS_TOKENS_FILE"]
		}
	}
	if path == "" {
		return errors.New("no tokens file: give --tokens-file FILE or set SIMJOBS_TOKENS_FILE")
	}
	switch sub {
	case "add":
		if name == "" {
			return errors.New("token add needs a NAME: simjobs token add NAME --role user|admin")
		}
		tok, err := server.AddToken(path, name, role)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		fmt.Fprintf(stderr, "added %s (%s) to %s. This token is shown only now: give it to %s (SIMJOBS_TOKEN, or the login page).\n", name, role, path, name)
		return nil
	case "remove", "rm":
		if name == "" {
			return errors.New("token remove needs a NAME")
		}
		if err := server.RemoveToken(path, name); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "removed %s from %s; a running server stops accepting the token at once.\n", name, path)
		return nil
	case "list", "ls":
		if name != "" {
			return errors.New("token list takes no NAME")
		}
		list, err := server.ListTokens(path)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE")
		for _, t := range list {
			fmt.Fprintf(w, "%s\t%s\n", t.Name, t.Role)
		}
		return w.Flush()
	}
	tokenUsage(stderr)
	return fmt.Errorf("token: unknown subcommand %q", sub)
}

var errUsage = errors.New("usage")

func tokenUsage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  simjobs token add NAME --role user|admin [--tokens-file F]   create a token (printed once) for NAME
  simjobs token list [--tokens-file F]                        names and roles (never the hashes)
  simjobs token remove NAME [--tokens-file F]                 withdraw NAME's token
`)
}
