package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
)

// healthCommand exits 0 when the server answers /healthz: the Docker
// image's HEALTHCHECK (the image has no shell and no curl).
func healthCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) > 0 || after != nil {
			return usagef("health takes no arguments")
		}
		if err := cx.api.Health(ctx); err != nil {
			return err
		}
		fmt.Fprintln(cx.stdout, "ok")
		return nil
	}
}

// auditCommand prints the audit trail: limits changes and drains, who
// made them, newest first (admin). Who submitted, cancelled or
// re-prioritised a job is in its history (simjobs status ID --json, GET
// /jobs/ID/history).
func auditCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	limit := fs.Int("limit", 50, "entries to show")
	asJSON := fs.Bool("json", false, "print the entries as JSON")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) > 0 || after != nil {
			return usagef("audit takes flags only")
		}
		list, err := cx.api.Audit(ctx, *limit, 0)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(cx.stdout, list)
		}
		w := tabwriter.NewWriter(cx.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "TIME\tWHO\tWHAT\tDETAIL")
		for _, e := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Detail)
		}
		return w.Flush()
	}
}
