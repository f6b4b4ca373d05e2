//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// needRoot skips a test that mounts file systems when it cannot, saying
// why; under CI (which runs as root) a failure to mount is a failure.
func needRoot(t *testing.T, why string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
		t.Fatalf("%s: %v", why, err)
	}
	t.Skipf("skipped: %s: %v (needs root and mount)", why, err)
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		needRoot(t, "mount a small tmpfs", errors.New("not root"))
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		needRoot(t, "mount a small tmpfs", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes to path until the volume is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	if f == nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	// Small writes too: the last blocks.
	for {
		if _, err := f.Write(buf[:512]); err != nil {
			break
		}
	}
}

func (p *proc) body(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// until polls cond, which reads state of another process, for up to 30 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	enginetest.WaitFor(t, what, cond)
}

// A real full disk: submissions get 503 naming the cause (never a 500,
// never an acknowledgement without the job stored), /readyz turns 503,
// the dashboard shows a banner, the running job keeps running; once space
// is freed the server recovers by itself, records the job's end, and every
// acknowledged job is there after a restart.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	vol := mountTmpfs(t, 16<<20)
	dir := filepath.Join(vol, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(t.TempDir(), "record.txt") // off the full volume
	p := start(t, dir, "--allow-exec=env,"+fakesolver.Path(), "--reaper=false")
	job := func(id, secs string) map[string]any {
		return map[string]any{"config": map[string]any{"jobid": id, "command": []string{"env", "FAKE_SOLVER_SLEEP=" + secs, "FAKE_SOLVER_RECORD=" + record, fakesolver.Path()}}}
	}
	if code, r := p.post(t, "/jobs/submit", job("long", "1.5")); code != 200 {
		t.Fatalf("submit: %d %v", code, r)
	}
	until(t, "the job to run", func() bool { runs, _ := fakesolver.ReadRecord(record); return len(runs) == 1 })

	fill(t, filepath.Join(vol, "filler"))
	acked := []string{"long"}
	var refused map[string]any
	for i := 0; refused == nil; i++ {
		if i == 5000 {
			t.Fatal("5000 submissions accepted on a full volume")
		}
		id := fmt.Sprintf("full-%d", i)
		code, r := p.post(t, "/jobs/submit", job(id, "0"))
		switch code {
		case 200:
			acked = append(acked, id) // the WAL had room left: stored
		case 503:
			refused = r
		default:
			t.Fatalf("submission on a full volume: %d %v", code, r)
		}
	}
	t.Logf("refused after %d acknowledged: %v", len(acked), refused)
	if refused["success"] != false || !strings.Contains(fmt.Sprint(refused["error"]), "full") {
		t.Errorf("503 body %v: want success false and an error naming the full volume", refused)
	}
	if code, r := p.get(t, "/readyz"); code != 503 || !strings.Contains(fmt.Sprint(r["error"]), "full") {
		t.Errorf("readyz on a full volume: %d %v", code, r)
	}
	if _, page := p.body(t, "/"); !strings.Contains(page, `id="store-fault"`) {
		t.Error("the dashboard shows no banner while the database cannot be written")
	}
	// The running job is not killed: it ends by itself (the ledger is on
	// another volume), and its end waits for the disk.
	until(t, "the job to end", func() bool {
		runs, _ := fakesolver.ReadRecord(record)
		return len(runs) == 1 && !runs[0].End.IsZero()
	})

	if err := os.Remove(filepath.Join(vol, "filler")); err != nil {
		t.Fatal(err)
	}
	until(t, "readyz to recover", func() bool { code, _ := p.get(t, "/readyz"); return code == 200 })
	p.waitStatus(t, "long", "completed")
	if code, r := p.post(t, "/jobs/submit", job("after", "0")); code != 200 {
		t.Fatalf("submit after recovery: %d %v", code, r)
	}
	acked = append(acked, "after")
	p.waitStatus(t, "after", "completed")

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	q := start(t, dir, "--reaper=false")
	for _, id := range acked {
		if code, _ := q.get(t, "/jobs/"+id); code != 200 {
			t.Errorf("acknowledged job %s is gone after the restart (%d)", id, code)
		}
	}
}

// A volume that turns read-only under a running server (ext4's
// errors=remount-ro, triggered through sysfs): submissions get 503 naming
// it, /readyz turns 503, the running job keeps running. Linux refuses a
// plain `mount -o remount,ro` while the database is open for writing, and
// an emergency read-only ext4 cannot be made writable again without an
// unmount, so recovery is tested with the full disk above.
func TestReadOnlyVolume(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		needRoot(t, "mount an ext4 image", errors.New("not root"))
	}
	for _, tool := range []string{"mkfs.ext4", "losetup"} {
		if _, err := exec.LookPath(tool); err != nil {
			needRoot(t, "find "+tool, err)
		}
	}
	img := filepath.Join(t.TempDir(), "vol.img")
	if out, err := exec.Command("sh", "-c", "truncate -s 32M "+img+" && mkfs.ext4 -q "+img).CombinedOutput(); err != nil {
		needRoot(t, "make an ext4 image", fmt.Errorf("%v: %s", err, out))
	}
	vol := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop,errors=remount-ro", img, vol).CombinedOutput(); err != nil {
		needRoot(t, "mount an ext4 image", fmt.Errorf("%v: %s", err, out))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", vol).Run() })
	src, err := exec.Command("findmnt", "-n", "-o", "SOURCE", vol).Output()
	if err != nil {
		needRoot(t, "find the loop device", err)
	}
	trigger := filepath.Join("/sys/fs/ext4", filepath.Base(strings.TrimSpace(string(src))), "trigger_fs_error")
	if _, err := os.Stat(trigger); err != nil {
		needRoot(t, "find ext4's trigger_fs_error", err)
	}
	dir := filepath.Join(vol, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(t.TempDir(), "record.txt")
	p := start(t, dir, "--allow-exec=env,"+fakesolver.Path(), "--reaper=false")
	job := func(id, secs string) map[string]any {
		return map[string]any{"config": map[string]any{"jobid": id, "command": []string{"env", "FAKE_SOLVER_SLEEP=" + secs, "FAKE_SOLVER_RECORD=" + record, fakesolver.Path()}}}
	}
	if code, r := p.post(t, "/jobs/submit", job("long", "1")); code != 200 {
		t.Fatalf("submit: %d %v", code, r)
	}
	until(t, "the job to run", func() bool { runs, _ := fakesolver.ReadRecord(record); return len(runs) == 1 })
	if err := os.WriteFile(trigger, []byte("simjobs test"), 0o200); err != nil {
		needRoot(t, "trigger the ext4 error", err)
	}
	code, r := p.post(t, "/jobs/submit", job("refused", "0"))
	if code != 503 || !strings.Contains(fmt.Sprint(r["error"]), "read-only") {
		t.Fatalf("submission on a read-only volume: %d %v, want 503 naming it", code, r)
	}
	if code, r := p.get(t, "/readyz"); code != 503 || !strings.Contains(fmt.Sprint(r["error"]), "read-only") {
		t.Errorf("readyz on a read-only volume: %d %v", code, r)
	}
	until(t, "the job to end by itself", func() bool {
		runs, _ := fakesolver.ReadRecord(record)
		return len(runs) == 1 && !runs[0].End.IsZero()
	})
	if code, _ := p.get(t, "/jobs/long"); code != 200 {
		t.Errorf("reads fail on a read-only volume: %d", code)
	}
}
