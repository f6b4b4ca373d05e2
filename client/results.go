package client

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/simjobs/simjobs/server/apitype"
)

// stream sends one request whose body (when not nil) is read as it goes
// and returns the answer with its body open: the caller closes it. An
// error answer is read and closed here.
func (c *Client) stream(ctx context.Context, method, path string, q url.Values, body io.Reader, size int64, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path, q), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if unreachable(err) {
			return nil, &UnreachableError{URL: c.base.String(), Err: err}
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &Error{Method: method, Path: path, StatusCode: resp.StatusCode, Message: errorMessage(data)}
	}
	return resp, nil
}

func resultPath(id string, rest ...string) string {
	return "/api/jobs/" + id + strings.Join(rest, "")
}

// UploadProject sends a project (POST /api/projects) as it reads r: name
// is board.aedt for an .aedt file, board.aedb.zip for a zipped .aedb folder
// (see ZipFolder). size is r's length, -1 when unknown (sent chunked). The
// reply's ProjectPath is what to submit.
func (c *Client) UploadProject(ctx context.Context, name string, r io.Reader, size int64) (apitype.ProjectReply, error) {
	var out apitype.ProjectReply
	resp, err := c.stream(ctx, http.MethodPost, "/api/projects", url.Values{"name": {name}}, r, size, "application/octet-stream")
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, fmt.Errorf("POST /api/projects: answer is not the JSON expected: %w", err)
	}
	return out, nil
}

// ResultFiles lists what job id wrote in its folder while it ran.
func (c *Client) ResultFiles(ctx context.Context, id string) ([]apitype.ResultFile, error) {
	var out []apitype.ResultFile
	_, _, err := c.do(ctx, http.MethodGet, resultPath(id, "/files"), nil, nil, &out)
	return out, err
}

// DownloadResult copies one result file (its listed path) to w and
// returns the bytes written.
func (c *Client) DownloadResult(ctx context.Context, id, path string, w io.Writer) (int64, error) {
	resp, err := c.stream(ctx, http.MethodGet, resultPath(id, "/files/", path), nil, nil, 0, "")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, fmt.Errorf("download %s: %w", path, err)
	}
	return n, nil
}

// ResultsZip copies every result of job id, zipped, to w.
func (c *Client) ResultsZip(ctx context.Context, id string, w io.Writer) (int64, error) {
	resp, err := c.stream(ctx, http.MethodGet, resultPath(id, "/results.zip"), nil, nil, 0, "")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

// Touchstone reads a Touchstone result as magnitude (dB) and phase; with
// traces (S11, S21, ...) only those.
func (c *Client) Touchstone(ctx context.Context, id, path string, traces ...string) (apitype.TouchstoneView, error) {
	var q url.Values
	if len(traces) > 0 {
		q = url.Values{"traces": {strings.Join(traces, ",")}}
	}
	var out apitype.TouchstoneView
	_, _, err := c.do(ctx, http.MethodGet, resultPath(id, "/touchstone/", path), q, nil, &out)
	return out, err
}

// ZipFolder zips the folder dir (an .aedb) as it is read, for
// UploadProject: entries are named <folder>/<path>. Links and special
// files are left out. Close the reader to stop early.
func ZipFolder(dir string) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(zipFolder(dir, pw))
	}()
	return pr
}

func zipFolder(dir string, w io.Writer) error {
	zw := zip.NewWriter(w)
	base := filepath.Base(filepath.Clean(dir))
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hw, err := zw.CreateHeader(&zip.FileHeader{Name: base + "/" + filepath.ToSlash(rel), Method: zip.Deflate, Modified: info.ModTime()})
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(hw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("zip %s: %w", dir, err)
	}
	return zw.Close()
}
