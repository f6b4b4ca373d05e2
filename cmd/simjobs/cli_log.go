package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/server/apitype"
)

// logWait is how long one read of `log -f` waits at the server for more
// output (GET /jobs/{id}/log?wait=): the server answers as soon as the job
// writes or ends, so output shows as it is written without asking on a
// clock.
const logWait = 30 * time.Second

// A server that answers at once with nothing new (one from before ?wait=,
// or one that refuses another waiting request) is asked on a clock
// instead: after a pause that doubles from logBackoffMin to logBackoffMax,
// the pace `log -f` had before the server could wait.
const (
	logBackoffMin = 50 * time.Millisecond
	logBackoffMax = 500 * time.Millisecond
)

func logCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	follow := fs.Bool("f", false, "follow: print output as it is written until the job ends, then exit as wait does")
	fs.BoolVar(follow, "follow", false, "same as -f")
	stderr := fs.Bool("stderr", false, "the job's standard error instead of its standard output")
	attempt := fs.Int("attempt", 0, "an earlier attempt `N` (default: the latest)")
	tail := fs.Int("tail", 0, "only the last `N` lines (then new ones with -f)")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) != 1 || after != nil {
			return usagef("log takes one job ID")
		}
		if *attempt < 0 || *tail < 0 {
			return usagef("--attempt and --tail take a number >= 0")
		}
		id := args[0]
		o := client.LogOptions{Stream: "stdout", Attempt: *attempt, Tail: *tail}
		if *stderr {
			o.Stream = "stderr"
		}
		wait := logWait
		var pause time.Duration // between reads, while the server does not wait
		for {
			// The job's state is read before its log: once it reads as
			// ended, the log read after it is complete.
			j, err := cx.api.Job(ctx, id)
			if err != nil {
				return fmt.Errorf("job %s: %w", id, err)
			}
			ended := j.Status.Terminal() || (*attempt > 0 && *attempt < j.Attempt)
			o.Wait = 0
			if *follow && !ended {
				o.Wait = wait
			}
			asked := time.Now()
			l, err := cx.api.Log(ctx, id, o)
			if e := (*client.Error)(nil); errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests && o.Wait > 0 {
				// Too many waiting requests (pages, other followers): read
				// without waiting from now on.
				wait, o.Wait = 0, 0
				l, err = cx.api.Log(ctx, id, o)
			}
			if err != nil {
				if ctx.Err() != nil {
					return exitStatus(exitInterrupted)
				}
				return fmt.Errorf("job %s: %w", id, err)
			}
			if _, err := cx.stdout.Write(l.Text); err != nil {
				return err
			}
			o.Offset, o.Tail = l.Next, 0
			if !*follow {
				return nil
			}
			if ended {
				if *attempt > 0 && *attempt < j.Attempt {
					return nil
				}
				return exitStatus(jobExitCode(j, false))
			}
			switch {
			case len(l.Text) == 0 && (o.Wait == 0 || time.Since(asked) < o.Wait):
				// Nothing new, at once: the server did not wait.
				pause = min(max(2*pause, logBackoffMin), logBackoffMax)
			case len(l.Text) == 0:
				pause = 0 // it waited its whole wait
			}
			if pause == 0 {
				continue
			}
			select {
			case <-ctx.Done():
				return exitStatus(exitInterrupted)
			case <-time.After(pause):
			}
		}
	}
}

// maxErrorLine bounds the error shown on a failed job's line.
const maxErrorLine = 160

// firstError is what went wrong with a failed job, in one line: the error
// its solver log reports, else the first line of its standard error that
// says "error"; "" when neither says.
func (cx *cli) firstError(ctx context.Context, j apitype.Job) string {
	if j.Status != apitype.StatusFailed {
		return ""
	}
	var p solverlog.Progress
	if len(j.Progress) > 0 && json.Unmarshal(j.Progress, &p) == nil && p.Error != "" {
		return clip(strings.TrimSpace(firstLine(strings.TrimSpace(p.Error))))
	}
	// A job that ended before its log was first followed has no progress:
	// the server reads the whole log for its summary.
	if sum, ok, err := cx.api.LogSummary(ctx, j.ID, j.Attempt); err == nil && ok && sum.Error != "" {
		return clip(strings.TrimSpace(firstLine(strings.TrimSpace(sum.Error))))
	}
	l, err := cx.api.Log(ctx, j.ID, client.LogOptions{Stream: "stderr", Attempt: j.Attempt})
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(l.Text))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.Contains(strings.ToLower(line), "error") {
			return clip(line)
		}
	}
	return ""
}

// clip shortens s to maxErrorLine bytes, flattening control characters.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxErrorLine {
		cut := maxErrorLine
		for cut > 0 && s[cut]&0xc0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
