package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/simjobs/simjobs/server/apitype"
)

// notifyFlags are `simjobs submit`'s notification options: the body's
// "notify" object, checked by the server.
type notifyFlags struct {
	webhook, email, on *string
}

func registerNotifyFlags(fs *flag.FlagSet) notifyFlags {
	return notifyFlags{
		webhook: fs.String("notify-webhook", "", "`URL` to POST to when the job ends (see the README's Notifications)"),
		email:   fs.String("notify-email", "", "`ADDRESS` to mail when the job ends; \"me\" for your own (tokens file)"),
		on:      fs.String("notify-on", "", "comma-separated `EVENTS` to notify: started, completed, failed, cancelled (default: the three ends)"),
	}
}

// spec is the notify object, nil when no notify flag was given.
func (f notifyFlags) spec() map[string]any {
	if *f.webhook == "" && *f.email == "" {
		return nil
	}
	s := map[string]any{}
	if *f.webhook != "" {
		s["webhook"] = *f.webhook
	}
	switch *f.email {
	case "":
	case "me":
		s["email"] = true
	default:
		s["email"] = *f.email
	}
	if on := splitList(*f.on); len(on) > 0 {
		s["on"] = on
	}
	return s
}

// writeDeliveries lists a job's notifications under `simjobs status`.
func writeDeliveries(w io.Writer, ds []apitype.Delivery) {
	if len(ds) == 0 {
		return
	}
	fmt.Fprintln(w, "notifications:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, d := range ds {
		when := d.Created
		if d.LastAttempt != nil {
			when = *d.LastAttempt
		}
		outcome := d.Status
		if d.LastError != "" && d.Status != apitype.DeliveryDelivered {
			outcome += ": " + d.LastError
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s %s\t%s\t%d attempt(s)\n", when.Local().Format(timeFormat), d.Event, d.Channel, d.Display, outcome, d.Attempts)
	}
	tw.Flush()
}
