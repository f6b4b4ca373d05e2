package main

// simjobs upload and simjobs results: projects in, results out.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/server/apitype"
)

func uploadCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	asJSON := fs.Bool("json", false, "print the server's reply as JSON")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) != 1 || after != nil {
			return usagef("upload takes one project: a .aedt file or a .aedb folder")
		}
		p := args[0]
		fi, err := os.Stat(p)
		if err != nil {
			return usagef("%v", err)
		}
		name := filepath.Base(filepath.Clean(p))
		var body io.ReadCloser
		size := int64(-1)
		switch ext := strings.ToLower(filepath.Ext(name)); {
		case ext == ".aedb" && fi.IsDir():
			body, name = zipFolderOf(p), name+".zip"
		case ext == ".aedt" && !fi.IsDir(), strings.HasSuffix(strings.ToLower(name), ".aedb.zip") && !fi.IsDir():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			body, size = f, fi.Size()
		default:
			return usagef("%s is not a project: give a .aedt file, a .aedb folder or a .aedb.zip", p)
		}
		defer body.Close()
		reply, err := cx.api.UploadProject(ctx, name, body, size)
		if err != nil {
			return fmt.Errorf("upload %s: %w", p, err)
		}
		if *asJSON {
			return writeJSON(cx.stdout, reply)
		}
		fmt.Fprintln(cx.stdout, reply.ProjectPath)
		return nil
	}
}

func resultsCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	out := fs.String("out", "", "download every result into `DIR` (keeping the job folder's layout)")
	zipTo := fs.String("zip", "", "download them as one zip `FILE` (- for stdout)")
	asJSON := fs.Bool("json", false, "print the listing as JSON")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) != 1 || after != nil {
			return usagef("results takes one job ID")
		}
		id := args[0]
		if *zipTo != "" {
			return downloadZip(ctx, cx, id, *zipTo)
		}
		files, err := cx.api.ResultFiles(ctx, id)
		if err != nil {
			return fmt.Errorf("job %s: %w", id, err)
		}
		if *out != "" {
			return downloadAll(ctx, cx, id, files, *out)
		}
		if *asJSON {
			return writeJSON(cx.stdout, files)
		}
		if len(files) == 0 {
			fmt.Fprintf(cx.stderr, "job %s has written no files (yet)\n", id)
			return nil
		}
		tw := tabwriter.NewWriter(cx.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PATH\tSIZE\tMODIFIED")
		for _, f := range files {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Path, sizeText(f.Size), f.Modified.Local().Format(timeFormat))
		}
		return tw.Flush()
	}
}

func zipFolderOf(dir string) io.ReadCloser { return client.ZipFolder(dir) }

// downloadAll writes each result under dir; the server's paths are
// relative, and os.Root keeps even a hostile server's answer inside dir.
func downloadAll(ctx context.Context, cx *cli, id string, files []apitype.ResultFile, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var total int64
	for _, f := range files {
		name := filepath.FromSlash(f.Path)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("job %s: the server listed %q, which is not a relative path", id, f.Path)
		}
		if d := filepath.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		w, err := root.Create(name)
		if err != nil {
			return err
		}
		n, err := cx.api.DownloadResult(ctx, id, f.Path, w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("job %s: %w", id, err)
		}
		total += n
		fmt.Fprintln(cx.stdout, filepath.Join(dir, name))
	}
	fmt.Fprintf(cx.stderr, "%d files, %s, in %s\n", len(files), sizeText(total), dir)
	return nil
}

func downloadZip(ctx context.Context, cx *cli, id, to string) error {
	var w io.Writer = cx.stdout
	if to != "-" {
		f, err := os.Create(to)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	n, err := cx.api.ResultsZip(ctx, id, w)
	if err != nil {
		if to != "-" {
			os.Remove(to)
		}
		return fmt.Errorf("job %s: %w", id, err)
	}
	if to != "-" {
		fmt.Fprintf(cx.stderr, "%s (%s)\n", to, sizeText(n))
	}
	return nil
}

// sizeText is a byte count for people: 512 B, 1.5 KiB, 20.0 MiB.
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
