// Command testsummary reads `go test -json` on stdin and writes what a
// person needs of it: each package's result line, the full output of every
// test that failed, and at the end every test that was skipped, with the
// reason it gave. It exits 1 when a test or a package failed (or the input
// was cut short), so `go test -json ... | testsummary` keeps the exit
// status right (with pipefail, go test's own status counts too).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type key struct{ pkg, test string }

type skip struct {
	pkg, test, reason string
}

func main() {
	failed, err := summarise(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// summarise does the work; failed is true when anything failed.
func summarise(r io.Reader, w io.Writer) (failed bool, err error) {
	passed := 0
	out := map[key][]string{}
	var skips []skip
	var fails []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || e.Action == "" {
			// Not test2json (a build error printed as is): pass it on.
			fmt.Fprintln(w, string(line))
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output":
			out[k] = append(out[k], e.Output)
		case "skip":
			if e.Test != "" {
				skips = append(skips, skip{e.Package, e.Test, reason(out[k])})
			} else {
				fmt.Fprintf(w, "?   \t%s\t[no tests to run]\n", e.Package)
			}
			delete(out, k)
		case "pass":
			if e.Test != "" {
				passed++
			}
			if e.Test == "" {
				fmt.Fprintf(w, "ok  \t%s\t%.1fs\n", e.Package, e.Elapsed)
			}
			delete(out, k)
		case "fail":
			failed = true
			if e.Test != "" {
				fails = append(fails, e.Package+" "+e.Test)
				fmt.Fprint(w, strings.Join(out[k], ""))
			} else {
				// The package's own output: build failures, panics, FAIL.
				fmt.Fprint(w, strings.Join(out[k], ""))
				fmt.Fprintf(w, "FAIL\t%s\t%.1fs\n", e.Package, e.Elapsed)
			}
			delete(out, k)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	// Tests still open when the input ended were cut short (a timeout).
	for k, lines := range out {
		if k.test != "" && len(lines) > 0 {
			failed = true
			fails = append(fails, k.pkg+" "+k.test+" (did not finish)")
			fmt.Fprint(w, strings.Join(lines, ""))
		}
	}
	writeSkips(w, skips)
	if len(fails) > 0 {
		sort.Strings(fails)
		fmt.Fprintf(w, "\n%d failed:\n", len(fails))
		for _, f := range fails {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	// The counts, in the plain form CI systems read (subtests included).
	fmt.Fprintf(w, "\ntests: %d passed, %d failed, %d skipped\n", passed, len(fails), len(skips))
	return failed, nil
}

// reason is what a skipped test said: its last line of output that is not
// go test's own "=== RUN" / "--- SKIP" bookkeeping.
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		// "file_test.go:12: skipping: why" -> "skipping: why"
		if _, rest, ok := strings.Cut(l, ": "); ok && strings.Contains(l[:len(l)-len(rest)], ".go:") {
			l = rest
		}
		return l
	}
	return "(no reason given)"
}

// writeSkips lists the skipped tests, grouped by reason, most common first.
func writeSkips(w io.Writer, skips []skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "\nno test was skipped")
		return
	}
	byReason := map[string][]string{}
	for _, s := range skips {
		byReason[s.reason] = append(byReason[s.reason], shortPkg(s.pkg)+"."+s.test)
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if len(byReason[reasons[i]]) != len(byReason[reasons[j]]) {
			return len(byReason[reasons[i]]) > len(byReason[reasons[j]])
		}
		return reasons[i] < reasons[j]
	})
	fmt.Fprintf(w, "\n%d tests skipped:\n", len(skips))
	for _, r := range reasons {
		tests := byReason[r]
		sort.Strings(tests)
		fmt.Fprintf(w, "  %d × %s\n", len(tests), r)
		for _, t := range tests {
			fmt.Fprintf(w, "      %s\n", t)
		}
	}
}

func shortPkg(p string) string { return strings.TrimPrefix(p, "github.com/simjobs/simjobs/") }
