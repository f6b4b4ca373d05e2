// Command simjobs is a job manager for simulation runs: `simjobs serve`
// runs the server (REST API, live events, dashboard); the other commands
// are its clients.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if ran, code := reapServe(os.Args[2:], os.LookupEnv, os.Stderr); ran {
			os.Exit(code)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling: a second
		// Ctrl-C ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, env lookupEnv, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, env, stdout, stderr)
	case "token":
		err = tokenCommand(rest, env, stdout, stderr)
		if errors.Is(err, errUsage) {
			return 2
		}
	case "version", "--version":
		fmt.Fprintln(stdout, "simjobs", version)
	case "help", "-h", "--help":
		usage(stdout)
	default:
		if c, ok := findClientCommand(cmd); ok {
			return runClient(ctx, c, rest, env, stdin, stdout, stderr)
		}
		fmt.Fprintf(stderr, "simjobs: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "simjobs:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `simjobs: a job manager for simulation runs

Usage:
  simjobs serve [flags]     run the server (simjobs serve -h lists the flags)
  simjobs token add|list|remove   manage the tokens file of --auth token
  simjobs version           print the version
  simjobs help              this text

Every serve flag can also be set as SIMJOBS_<FLAG> in the environment or
in a .env file (flag > environment > .env > default).
`)
	clientUsage(w)
}
