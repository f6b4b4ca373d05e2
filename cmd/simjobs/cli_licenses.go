package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/simjobs/simjobs/server/apitype"
)

// licensesCommand shows what the server's license servers said last.
func licensesCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	asJSON := fs.Bool("json", false, "print the report as JSON (GET /api/licenses)")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) > 0 || after != nil {
			return usagef("licenses takes no arguments")
		}
		r, err := cx.api.Licenses(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(cx.stdout, r)
		}
		writeLicenses(cx.stdout, r)
		return nil
	}
}

func writeLicenses(w io.Writer, r apitype.LicenseReport) {
	if len(r.Servers) == 0 {
		fmt.Fprintln(w, "no license server configured (serve --license-server port@host)")
		return
	}
	at := "not yet polled"
	if r.SampledAt != nil {
		at = r.SampledAt.Local().Format(timeFormat)
	}
	fmt.Fprintf(w, "servers %s, polled %s\n", strings.Join(r.Servers, ", "), at)
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s (jobs are not held for what could not be read)\n", r.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FEATURE\tIN USE\tRESERVED\tFREE\tTOTAL\tHELD BY")
	for _, f := range r.Features {
		total := strconv.Itoa(f.Total)
		if f.Uncounted {
			total = "uncounted"
		}
		var who []string
		for _, u := range f.Users {
			s := u.User + "@" + u.Host
			if u.Seats > 1 {
				s += fmt.Sprintf(" ×%d", u.Seats)
			}
			if u.Since != nil {
				s += " since " + u.Since.Local().Format(time.Kitchen)
			}
			who = append(who, s)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", f.Name, f.InUse, f.Reserved, f.Free, total, strings.Join(who, ", "))
	}
	tw.Flush()
}
