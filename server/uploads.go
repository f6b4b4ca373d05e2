package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	xslog "golang.org/x/exp/slog"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/upload"
	"github.com/simjobs/simjobs/server/apitype"
)

// DefaultMaxUpload is --max-upload-mb's default: 20 GiB.
const DefaultMaxUpload = 20480 << 20

// DefaultMaxZipEntries bounds the files of one zipped .aedb; a real one
// holds a few hundred.
const DefaultMaxZipEntries = 100000

// tusBase is where the resumable (tus) uploads live.
const tusBase = "/api/uploads"

func (s *Server) maxUpload() int64 {
	if s.opts.MaxUploadBytes > 0 {
		return s.opts.MaxUploadBytes
	}
	return DefaultMaxUpload
}

func (s *Server) uploadLimits() upload.Limits {
	entries := s.opts.MaxZipEntries
	if entries <= 0 {
		entries = DefaultMaxZipEntries
	}
	return upload.Limits{MaxBytes: s.maxUpload(), MaxEntries: entries}
}

func tooLarge(max int64) error {
	return apiError(fiber.StatusRequestEntityTooLarge, fmt.Sprintf("the upload is larger than the server's limit of %d MiB (--max-upload-mb)", max>>20))
}

// uploadProject is POST /api/projects?name=board.aedt|board.aedb.zip: the
// raw body is the file, written to disk as it arrives.
func (s *Server) uploadProject(c *fiber.Ctx) error {
	name := c.Query("name")
	kind, err := upload.CheckName(name)
	if err != nil {
		return &engine.ValidationError{Field: "name", Message: err.Error()}
	}
	dir := s.m.Policy().UploadDir(identity(c).Name)
	if dir == "" {
		return apiError(fiber.StatusServiceUnavailable, "this server keeps no uploads")
	}
	max := s.maxUpload()
	declared := int64(c.Request().Header.ContentLength())
	if declared > max {
		s.refuseBody(c)
		return tooLarge(max)
	}
	id := upload.NewID()
	folder := filepath.Join(dir, id)
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return fmt.Errorf("upload folder: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(folder)
		}
	}()
	tmp, err := os.CreateTemp(folder, ".partial-*")
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	var body io.Reader = bytes.NewReader(nil)
	if st := c.Context().RequestBodyStream(); st != nil {
		body = deadlineReader{st, c.Context().Conn(), s.readTimeout()}
	} else if b := c.Body(); len(b) > 0 {
		body = bytes.NewReader(b)
	}
	n, err := io.Copy(tmp, io.LimitReader(body, max+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case n > max:
		c.Context().SetConnectionClose()
		return tooLarge(max)
	case err != nil:
		c.Context().SetConnectionClose()
		return apiError(fiber.StatusBadRequest, "the upload was interrupted: "+err.Error())
	case declared >= 0 && n != declared:
		return apiError(fiber.StatusBadRequest, fmt.Sprintf("the upload was interrupted after %d of %d bytes", n, declared))
	case n == 0:
		return &engine.ValidationError{Field: "body", Message: "is empty; send the project file as the request body"}
	}
	project, err := s.finishUpload(tmp.Name(), folder, name, kind)
	if err != nil {
		return err
	}
	keep = true
	s.log.Info("project uploaded", "user", identity(c).Name, "path", project, "bytes", n)
	return c.JSON(apitype.ProjectReply{Success: true, ProjectPath: project, UploadID: id})
}

// finishUpload turns the received file into the project in folder: an
// .aedt is moved there, a zipped .aedb unpacked (and the zip removed).
func (s *Server) finishUpload(received, folder, name string, kind upload.Kind) (string, error) {
	project := filepath.Join(folder, upload.ProjectName(name))
	if kind == upload.AEDT {
		if err := os.Rename(received, project); err != nil {
			return "", fmt.Errorf("upload: %w", err)
		}
		return project, nil
	}
	defer os.Remove(received)
	err := upload.Unzip(received, project, s.uploadLimits())
	var bad *upload.BadArchiveError
	switch {
	case errors.Is(err, upload.ErrTooLarge):
		return "", apiError(fiber.StatusRequestEntityTooLarge, err.Error())
	case errors.As(err, &bad):
		return "", &engine.ValidationError{Field: "body", Message: bad.Error()}
	case err != nil:
		return "", err
	}
	return project, nil
}

// tusUploads holds the resumable-upload handler (tusd): partial uploads
// sit in <uploads>/.tus until their last byte arrives, then become a
// project like a raw upload.
type tusUploads struct {
	h     *tusd.Handler
	store filestore.FileStore
}

type tusUserKey struct{}

// metaUser is the metadata key naming an upload's owner; the server sets
// it, whatever the client sent.
const metaUser = "simjobs_user"

func (s *Server) newTus() (*tusUploads, error) {
	root := s.m.Policy().UploadRoot
	if root == "" {
		return nil, nil
	}
	dir := filepath.Join(root, ".tus")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	store := filestore.New(dir)
	composer := tusd.NewStoreComposer()
	store.UseIn(composer)
	memorylocker.New().UseIn(composer)
	h, err := tusd.NewHandler(tusd.Config{
		BasePath:                   tusBase + "/",
		StoreComposer:              composer,
		MaxSize:                    s.maxUpload(),
		DisableDownload:            true,
		DisableConcatenation:       true,
		Logger:                     xslog.New(xslog.NewTextHandler(logLines{s.log}, &xslog.HandlerOptions{Level: xslog.LevelWarn})),
		PreUploadCreateCallback:    s.tusCreate,
		PreFinishResponseCallback:  s.tusFinish,
		EnableExperimentalProtocol: false,
	})
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	return &tusUploads{h: h, store: store}, nil
}

// tusName is the file name a tus client sent (tus-js-client: filename).
func tusName(meta tusd.MetaData) string {
	if n := meta["name"]; n != "" {
		return n
	}
	return meta["filename"]
}

func (s *Server) tusCreate(ev tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	who, _ := ev.Context.Value(tusUserKey{}).(Identity)
	name := tusName(ev.Upload.MetaData)
	if _, err := upload.CheckName(name); err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_NAME", "name: "+err.Error(), http.StatusBadRequest)
	}
	if ev.Upload.SizeIsDeferred {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("ERR_LENGTH", "Upload-Length is required", http.StatusBadRequest)
	}
	meta := tusd.MetaData{"name": name, metaUser: who.Name}
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{MetaData: meta}, nil
}

func (s *Server) tusFinish(ev tusd.HookEvent) (tusd.HTTPResponse, error) {
	info := ev.Upload
	name := info.MetaData["name"]
	kind, err := upload.CheckName(name)
	if err != nil || !upload.IDValid(info.ID) {
		return tusd.HTTPResponse{}, tusd.NewError("ERR_NAME", "name: invalid", http.StatusBadRequest)
	}
	folder := filepath.Join(s.m.Policy().UploadDir(info.MetaData[metaUser]), info.ID)
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return tusd.HTTPResponse{}, err
	}
	project, err := s.finishUpload(info.Storage[filestore.StorageKeyPath], folder, name, kind)
	if err != nil {
		// A refused project is forgotten whole: sending it again starts over.
		os.RemoveAll(folder)
		os.Remove(info.Storage[filestore.StorageKeyPath])
		os.Remove(info.Storage[filestore.StorageKeyInfoPath])
		var fe *fiber.Error
		var ve *engine.ValidationError
		switch {
		case errors.As(err, &fe):
			return tusd.HTTPResponse{}, tusd.NewError("ERR_UPLOAD", fe.Message, fe.Code)
		case errors.As(err, &ve):
			return tusd.HTTPResponse{}, tusd.NewError("ERR_UPLOAD", ve.Message, http.StatusBadRequest)
		}
		return tusd.HTTPResponse{}, err
	}
	// The upload is a project now; what tus kept of it goes.
	os.Remove(info.Storage[filestore.StorageKeyInfoPath])
	s.log.Info("project uploaded (tus)", "user", info.MetaData[metaUser], "path", project, "bytes", info.Size)
	return tusd.HTTPResponse{Header: tusd.HTTPHeader{"Upload-Project-Path": project}}, nil
}

// tus bridges a Fiber request to tusd, a net/http handler, without
// buffering the body (the Fiber adaptor reads it whole into memory).
func (s *Server) tus(c *fiber.Ctx) error {
	if s.tusUp == nil {
		return apiError(fiber.StatusServiceUnavailable, "this server keeps no uploads")
	}
	who := identity(c)
	rel := strings.TrimPrefix(c.Path(), tusBase)
	if id := strings.Trim(rel, "/"); id != "" {
		// Only the owner (or an admin) may see, continue or end an upload;
		// to anyone else it does not exist.
		if !upload.IDValid(id) {
			return apiError(fiber.StatusNotFound, "no such upload")
		}
		if up, err := s.tusUp.store.GetUpload(c.UserContext(), id); err == nil {
			info, err := up.GetInfo(c.UserContext())
			if err == nil && info.MetaData[metaUser] != who.Name && !who.Admin() {
				return apiError(fiber.StatusNotFound, "no such upload")
			}
		}
	}
	var body io.Reader = http.NoBody
	if st := c.Context().RequestBodyStream(); st != nil {
		body = st
	} else if b := c.Body(); len(b) > 0 {
		body = bytes.NewReader(b)
	}
	ctx := context.WithValue(c.UserContext(), tusUserKey{}, who)
	rb := &tusBody{r: body}
	r, err := http.NewRequestWithContext(ctx, c.Method(), rel, rb)
	if err != nil {
		return apiError(fiber.StatusBadRequest, "bad upload request")
	}
	r.Host = string(c.Request().Host())
	if c.Protocol() == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	r.ContentLength = int64(c.Request().Header.ContentLength())
	if r.ContentLength < 0 {
		r.ContentLength = -1
	}
	c.Request().Header.VisitAll(func(k, v []byte) {
		r.Header.Add(string(k), string(v))
	})
	w := &tusWriter{c: c, header: http.Header{}}
	s.tusUp.h.ServeHTTP(w, r)
	rb.closed.Store(true)
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// tusBody is the request body as tusd sees it: tusd may close it from
// another goroutine, which must not touch Fiber's stream.
type tusBody struct {
	r      io.Reader
	closed atomic.Bool
}

func (b *tusBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.r.Read(p)
}

func (b *tusBody) Close() error { b.closed.Store(true); return nil }

// tusWriter is an http.ResponseWriter onto the Fiber response; its
// deadline methods let tusd keep a long PATCH alive (http.ResponseController).
type tusWriter struct {
	c      *fiber.Ctx
	header http.Header
	wrote  bool
}

func (w *tusWriter) Header() http.Header { return w.header }

func (w *tusWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	for k, vs := range w.header {
		for _, v := range vs {
			w.c.Response().Header.Add(k, v)
		}
	}
	w.c.Status(code)
}

func (w *tusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.c.Response().AppendBody(p)
	return len(p), nil
}

func (w *tusWriter) SetReadDeadline(t time.Time) error {
	if conn := w.c.Context().Conn(); conn != nil {
		return conn.SetReadDeadline(t)
	}
	return nil
}

func (w *tusWriter) SetWriteDeadline(t time.Time) error {
	if conn := w.c.Context().Conn(); conn != nil {
		return conn.SetWriteDeadline(t)
	}
	return nil
}

// logLines hands tusd's warnings and errors (it logs with
// golang.org/x/exp/slog, its own types) to the server log, one line each.
type logLines struct{ log *slog.Logger }

func (l logLines) Write(p []byte) (int, error) {
	l.log.Warn("uploads: " + strings.TrimSpace(string(p)))
	return len(p), nil
}
