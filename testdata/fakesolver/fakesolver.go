// Package fakesolver locates testdata/fake-solver, a shell script that stands
// in for ansysedt in tests, and reads the records it leaves behind so tests can
// check what ran, with which arguments, and how many runs overlapped.
//
// The script's behaviour is set through its environment; see the comment at
// the top of testdata/fake-solver.
package fakesolver

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Environment variables understood by the fake solver.
const (
	EnvRecord     = "FAKE_SOLVER_RECORD"
	EnvSleep      = "FAKE_SOLVER_SLEEP"
	EnvExit       = "FAKE_SOLVER_EXIT"
	EnvTrapTerm   = "FAKE_SOLVER_TRAP_TERM"
	EnvChild      = "FAKE_SOLVER_CHILD"
	EnvChildSleep = "FAKE_SOLVER_CHILD_SLEEP"
	EnvScript     = "FAKE_SOLVER_SCRIPT"
	EnvLineSleep  = "FAKE_SOLVER_LINE_SLEEP"
	EnvResults    = "FAKE_SOLVER_RESULTS"
)

// Path returns the absolute path of testdata/fake-solver. It is found next to
// this source file, so it works from any package's test binary.
func Path() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("fakesolver: cannot locate own source file")
	}
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "fake-solver")
}

// HFSSLog returns the absolute path of testdata/fake-solver-hfss.log, a
// whole HFSS 3D Layout batch log in the format ansysedt -monitor prints
// (written for the tests, not copied from a real run): five adaptive
// passes that converge, a six-point discrete sweep, three warnings and a
// normal completion. With FAKE_SOLVER_SCRIPT set to it the fake solver
// prints it, FAKE_SOLVER_LINE_SLEEP seconds per line.
func HFSSLog() string {
	return filepath.Join(filepath.Dir(Path()), "fake-solver-hfss.log")
}

// Run is one execution of the fake solver, as recorded.
type Run struct {
	PID   int
	Args  []string // the arguments after argv[0], exactly as received
	Start time.Time
	End   time.Time // zero when the run never reached its end (killed)
	Child int       // pid of the background child (FAKE_SOLVER_CHILD=1), 0 if none
}

// ReadRecord parses the record file named by FAKE_SOLVER_RECORD. Runs are in
// start order. A missing file means nothing ran: no runs, no error.
func ReadRecord(path string) ([]Run, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fakesolver: %w", err)
	}
	defer f.Close()

	var runs []Run
	byPID := map[int]int{} // pid -> index in runs of its latest start
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 3 {
			return nil, fmt.Errorf("fakesolver: %s:%d: short line %q", path, n, sc.Text())
		}
		ns, err1 := strconv.ParseInt(fields[1], 10, 64)
		pid, err2 := strconv.Atoi(fields[2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("fakesolver: %s:%d: %w", path, n, err)
		}
		at := time.Unix(0, ns)
		switch fields[0] {
		case "start":
			byPID[pid] = len(runs)
			runs = append(runs, Run{PID: pid, Args: fields[3:], Start: at})
		case "child", "end":
			i, ok := byPID[pid]
			if !ok {
				return nil, fmt.Errorf("fakesolver: %s:%d: %s of pid %d without start", path, n, fields[0], pid)
			}
			if fields[0] == "end" {
				runs[i].End = at
				break
			}
			if len(fields) != 4 {
				return nil, fmt.Errorf("fakesolver: %s:%d: bad child line", path, n)
			}
			if runs[i].Child, err = strconv.Atoi(fields[3]); err != nil {
				return nil, fmt.Errorf("fakesolver: %s:%d: %w", path, n, err)
			}
		default:
			return nil, fmt.Errorf("fakesolver: %s:%d: unknown record %q", path, n, fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fakesolver: %s: %w", path, err)
	}
	slices.SortStableFunc(runs, func(a, b Run) int { return a.Start.Compare(b.Start) })
	return runs, nil
}

// MaxOverlap returns the largest number of runs alive at the same instant.
// A run without an End (killed before it finished) counts as alive until the
// end of time, which errs on the side of reporting too much overlap.
func MaxOverlap(runs []Run) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, r := range runs {
		edges = append(edges, edge{r.Start, +1})
		if !r.End.IsZero() {
			edges = append(edges, edge{r.End, -1})
		}
	}
	// At equal times, ends sort before starts: a run that ends exactly when
	// another starts did not overlap it.
	slices.SortFunc(edges, func(a, b edge) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.delta, b.delta))
	})
	alive, most := 0, 0
	for _, e := range edges {
		alive += e.delta
		most = max(most, alive)
	}
	return most
}
