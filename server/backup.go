package server

import (
	"errors"
	"os"

	"github.com/gofiber/fiber/v2"
)

// backup answers POST /system/backup with a consistent copy of the
// database (a SQLite file), taken while the server keeps working.
func (s *Server) backup(c *fiber.Ctx) error {
	if s.opts.Backup == nil {
		return apiError(fiber.StatusNotImplemented, "this server cannot take backups")
	}
	path, err := s.opts.Backup(c.UserContext())
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		os.Remove(path)
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	c.Set(fiber.HeaderContentType, "application/vnd.sqlite3")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="simjobs-backup.db"`)
	// fasthttp closes the stream once it is sent, or when the client goes.
	return c.SendStream(&removeOnClose{File: f}, int(fi.Size()))
}

// removeOnClose deletes the temporary backup file once it has been sent.
type removeOnClose struct{ *os.File }

func (r *removeOnClose) Close() error {
	return errors.Join(r.File.Close(), os.Remove(r.File.Name()))
}
