// Package fakelmutil drives testdata/fake-lmutil/lmutil, a stand-in for
// FlexNet's lmutil that prints `lmstat -a` in the real format for the seats
// a test writes (see the comment at the top of the script).
package fakelmutil

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// EnvDir names the state directory of the fake.
const EnvDir = "FAKE_LMUTIL_DIR"

// Path is the absolute path of the fake lmutil.
func Path() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("fakelmutil: cannot locate own source file")
	}
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "fake-lmutil", "lmutil")
}

// Dir is one fake license server's state.
type Dir string

// New returns a fresh state directory for t, skipping where the shell
// script cannot run.
func New(t testing.TB) Dir {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake lmutil is a shell script")
	}
	return Dir(t.TempDir())
}

// Env is the environment entry that points the fake at d.
func (d Dir) Env() string { return EnvDir + "=" + string(d) }

// SetCounts writes the features: lines "FEATURE TOTAL [USER:HOST:SEATS ...]".
func (d Dir) SetCounts(t testing.TB, lines ...string) {
	t.Helper()
	d.write(t, "counts", strings.Join(lines, "\n")+"\n")
}

// SetDown makes the server unreachable (or reachable again).
func (d Dir) SetDown(t testing.TB, down bool) { d.toggle(t, "down", down, "") }

// SetFail makes lmutil itself fail with msg on stderr ("" mends it).
func (d Dir) SetFail(t testing.TB, msg string) { d.toggle(t, "fail", msg != "", msg+"\n") }

// SetHang makes lmutil never answer.
func (d Dir) SetHang(t testing.TB, hang bool) { d.toggle(t, "hang", hang, "") }

// Calls is how many times lmutil ran.
func (d Dir) Calls() int {
	b, _ := os.ReadFile(filepath.Join(string(d), "calls.log"))
	return strings.Count(string(b), "\n")
}

func (d Dir) toggle(t testing.TB, name string, on bool, text string) {
	t.Helper()
	if on {
		d.write(t, name, text)
		return
	}
	if err := os.Remove(filepath.Join(string(d), name)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// write replaces a file whole (rename), so a run never reads half of it.
func (d Dir) write(t testing.TB, name, text string) {
	t.Helper()
	tmp := filepath.Join(string(d), "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(string(d), name)); err != nil {
		t.Fatal(err)
	}
}
