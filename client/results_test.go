package client_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/server/servertest"
)

func TestUploadAndResults(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	c := newClient(t, srv.URL)
	ctx := ctx(t)

	// An .aedb folder, zipped on the fly and sent chunked.
	aedb := filepath.Join(t.TempDir(), "board.aedb")
	os.MkdirAll(filepath.Join(aedb, "stride"), 0o755)
	os.WriteFile(filepath.Join(aedb, "edb.def"), []byte("def"), 0o644)
	os.WriteFile(filepath.Join(aedb, "stride", "a.bin"), []byte("a"), 0o644)
	zr := client.ZipFolder(aedb)
	up, err := c.UploadProject(ctx, "board.aedb.zip", zr, -1)
	zr.Close()
	if err != nil || filepath.Base(up.ProjectPath) != "board.aedb" {
		t.Fatalf("upload: %+v %v", up, err)
	}
	if b, _ := os.ReadFile(filepath.Join(up.ProjectPath, "stride", "a.bin")); string(b) != "a" {
		t.Fatalf("unpacked a.bin = %q", b)
	}
	if _, err := c.UploadProject(ctx, "board.txt", strings.NewReader("x"), 1); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("bad name: %v", err)
	}

	cfg := srv.HFSS("cres")
	cfg["project_path"] = up.ProjectPath
	if _, err := c.Submit(ctx, cfg, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Manager.Wait(ctx, "cres"); err != nil {
		t.Fatal(err)
	}
	files, err := c.ResultFiles(ctx, "cres")
	if err != nil || len(files) != 2 || files[0].Path != "board.aedtresults/board.s2p" {
		t.Fatalf("files %+v %v", files, err)
	}
	var buf bytes.Buffer
	if n, err := c.DownloadResult(ctx, "cres", files[0].Path, &buf); err != nil || n != files[0].Size || !strings.Contains(buf.String(), "# GHz S MA R 50") {
		t.Fatalf("download %d %v", n, err)
	}
	if _, err := c.DownloadResult(ctx, "cres", "../simjobs.db", &buf); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("traversal: %v", err)
	}
	buf.Reset()
	if _, err := c.ResultsZip(ctx, "cres", &buf); err != nil {
		t.Fatal(err)
	}
	if z, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil || len(z.File) != 2 {
		t.Fatalf("zip: %v", err)
	}
	v, err := c.Touchstone(ctx, "cres", files[0].Path, "S21", "S11")
	if err != nil || v.Ports != 2 || len(v.S) != 2 || len(v.S["S21"].DB) != len(v.Frequencies) {
		t.Fatalf("touchstone %+v %v", v, err)
	}
}
