package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/results"
	"github.com/simjobs/simjobs/engine/touchstone"
)

// maxTouchstone bounds the file /touchstone parses: far above any real
// sweep, far below what would hurt the server.
const maxTouchstone = 256 << 20

// MayRead reports whether who may see the results of job: its owner and
// admins (everyone is an admin without authentication).
func MayRead(who Identity, job engine.Job) bool { return who.Admin() || job.User == who.Name }

// jobResults finds job id's results for the caller; another user's job is
// a 404, as if it did not exist, so ids cannot be probed.
func (s *Server) jobResults(c *fiber.Ctx) (engine.Job, results.Set, error) {
	job, set, err := s.m.Results(c.UserContext(), c.Params("id"))
	if err != nil {
		return job, set, err
	}
	if !MayRead(identity(c), job) {
		return job, set, apiError(fiber.StatusNotFound, "job not found")
	}
	return job, set, nil
}

func (s *Server) listFiles(c *fiber.Ctx) error {
	_, set, err := s.jobResults(c)
	if err != nil {
		return err
	}
	files, truncated, err := results.List(c.UserContext(), set)
	if err != nil {
		return err
	}
	if files == nil {
		files = []results.File{}
	}
	if truncated {
		c.Set("X-Truncated", "true")
	}
	return c.JSON(filesOut(files))
}

// filePath is the {path} of a results route, unescaped (the router leaves
// it as sent); a bad escape is left as it is and finds no file.
func filePath(c *fiber.Ctx) string {
	p := c.Params("*")
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

func (s *Server) downloadFile(c *fiber.Ctx) error {
	_, set, err := s.jobResults(c)
	if err != nil {
		return err
	}
	f, info, err := results.Open(set, filePath(c))
	if errors.Is(err, results.ErrNotFound) {
		return apiError(fiber.StatusNotFound, "no such result file")
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, resultType(info.Path))
	// A result is data from a solver, not a page of this site: a browser
	// must not run anything in it, whatever it holds.
	c.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	disp := "inline"
	if c.Query("download") != "" {
		disp = "attachment"
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`%s; filename="%s"`, disp, strings.ReplaceAll(path.Base(info.Path), `"`, "_")))
	c.Set(fiber.HeaderContentLength, strconv.FormatInt(info.Size, 10))
	conn, timeout := c.Context().Conn(), s.app.Config().WriteTimeout
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer f.Close()
		_, _ = io.Copy(deadlineWriter{w, conn, timeout}, f)
		_ = w.Flush()
	})
	c.Response().Header.SetContentLength(int(info.Size))
	return nil
}

// resultType is the media type a result is sent as: text for the text
// files solvers write, the few image and document types browsers show
// safely, bytes for anything else (an .html or .svg report is
// downloaded, not rendered on this origin).
func resultType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if _, ok := touchstone.PortsFromName(name); ok {
		return "text/plain; charset=utf-8"
	}
	switch ext {
	case ".csv", ".log", ".txt", ".tab", ".prn", ".out", ".json", ".batchinfo":
		return "text/plain; charset=utf-8"
	case ".png", ".jpg", ".jpeg", ".gif", ".pdf":
		return mime.TypeByExtension(ext)
	}
	return "application/octet-stream"
}

func (s *Server) resultsZip(c *fiber.Ctx) error {
	job, set, err := s.jobResults(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	files, _, err := results.List(ctx, set)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-results.zip"`, job.ID))
	conn, timeout := c.Context().Conn(), s.app.Config().WriteTimeout
	log := s.log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := results.WriteZip(ctx, deadlineWriter{w, conn, timeout}, set, files); err != nil {
			log.Warn("results zip cut short", "job", job.ID, "err", err)
		}
		_ = w.Flush()
	})
	return nil
}

func (s *Server) touchstoneView(c *fiber.Ctx) error {
	_, set, err := s.jobResults(c)
	if err != nil {
		return err
	}
	n, err := ReadTouchstone(set, filePath(c))
	if err != nil {
		return err
	}
	var names []string
	if t := c.Query("traces"); t != "" {
		names = strings.Split(t, ",")
	}
	return c.JSON(touchstoneOut(n.View(names...)))
}

// ReadTouchstone parses one of a job's result files (the dashboard uses it
// too); a file that is not Touchstone is a 400 naming what is wrong.
func ReadTouchstone(set results.Set, rel string) (*touchstone.Network, error) {
	ports, ok := touchstone.PortsFromName(rel)
	if !ok {
		return nil, &engine.ValidationError{Field: "path", Message: "is not a Touchstone file (.s1p ... .sNp)"}
	}
	f, info, err := results.Open(set, rel)
	if errors.Is(err, results.ErrNotFound) {
		return nil, apiError(fiber.StatusNotFound, "no such result file")
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info.Size > maxTouchstone {
		return nil, apiError(fiber.StatusRequestEntityTooLarge, fmt.Sprintf("%s is larger than %d MiB", rel, maxTouchstone>>20))
	}
	n, err := touchstone.Parse(io.LimitReader(f, maxTouchstone), ports)
	var se *touchstone.SyntaxError
	if errors.As(err, &se) {
		return nil, &engine.ValidationError{Field: "path", Message: se.Error()}
	}
	return n, err
}
