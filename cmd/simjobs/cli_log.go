package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/server/apitype"
)

// logFollowEvery is how often `log -f` asks for more output: what the
// dashboard's log tail does too.
const logFollowEvery = 500 * time.Millisecond

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
		var t *time.Ticker
		for {
			// The job's state is read before its log: once it reads as
			// ended, the log read after it is complete.
			j, err := cx.api.Job(ctx, id)
			if err != nil {
				return fmt.Errorf("job %s: %w", id, err)
			}
			ended := j.Status.Terminal() || (*attempt > 0 && *attempt < j.Attempt)
			l, err := cx.api.Log(ctx, id, o)
			if err != nil {
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
			if t == nil {
				t = time.NewTicker(logFollowEvery)
				defer t.Stop()
			}
			select {
			case <-ctx.Done():
				return exitStatus(exitInterrupted)
			case <-t.C:
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
