package server

import (
	"bytes"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// The app streams request bodies (fiber.Config.StreamRequestBody), so an
// upload goes to disk as it arrives instead of into memory. Every other
// route keeps the 1 MiB limit: limitBody reads its body, up to MaxBody,
// before any handler sees it.
func (s *Server) limitBody(c *fiber.Ctx) error {
	if streamsBody(c.Path()) {
		ct := strings.ToLower(string(c.Request().Header.ContentType()))
		switch {
		case strings.HasPrefix(ct, "multipart/"):
			s.refuseBody(c)
			return apiError(fiber.StatusUnsupportedMediaType, "send the file as the raw request body (curl --data-binary @file), not as a multipart form")
		case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
			// curl --data-binary labels any body so. Read as a form, it would
			// be parsed into memory by anything asking for a form value (the
			// CSRF check does): it is the file, so it is labelled as one.
			c.Request().Header.SetContentType("application/octet-stream")
		}
		err := c.Next()
		if err != nil || c.Response().StatusCode() >= 400 {
			// A refused upload may leave body bytes unread: they must not
			// be taken for the next request on this connection.
			s.refuseBody(c)
		}
		return err
	}
	req := c.Request()
	if req.Header.ContentLength() > MaxBody {
		s.refuseBody(c)
		return fiber.ErrRequestEntityTooLarge
	}
	if !req.IsBodyStream() {
		return c.Next()
	}
	var buf bytes.Buffer
	// The read deadline set for the whole request stays: a client
	// trickling a small body is cut off as before (only uploads extend it).
	n, err := io.Copy(&buf, io.LimitReader(c.Context().RequestBodyStream(), MaxBody+1))
	if n > MaxBody {
		c.Context().SetConnectionClose()
		return fiber.ErrRequestEntityTooLarge
	}
	if err != nil {
		c.Context().SetConnectionClose()
		return apiError(fiber.StatusBadRequest, "the request body could not be read")
	}
	req.SetBody(buf.Bytes())
	return c.Next()
}

// drainLimit is how much of a refused body is read and dropped before the
// answer, so a client that sends it all before reading (most do) sees the
// answer instead of a reset connection; beyond it the connection is cut.
const drainLimit = 8 << 20

// refuseBody drains up to drainLimit of the body and closes the
// connection after the answer.
func (s *Server) refuseBody(c *fiber.Ctx) {
	c.Context().SetConnectionClose()
	if st := c.Context().RequestBodyStream(); st != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(st, drainLimit))
	}
}

// streamsBody names the routes whose handlers read the body as a stream.
func streamsBody(path string) bool {
	return path == "/api/projects" || path == "/api/uploads" || strings.HasPrefix(path, "/api/uploads/")
}

func (s *Server) readTimeout() time.Duration { return s.app.Config().ReadTimeout }

// deadlineReader moves the connection's read deadline forward on every
// read: the server's ReadTimeout then bounds a stall, not a whole upload
// (a gigabyte over a VPN takes longer than 30 s).
type deadlineReader struct {
	r       io.Reader
	conn    net.Conn
	timeout time.Duration
}

func (d deadlineReader) Read(p []byte) (int, error) {
	if d.conn != nil && d.timeout > 0 {
		_ = d.conn.SetReadDeadline(time.Now().Add(d.timeout))
	}
	return d.r.Read(p)
}

// deadlineWriter does the same for long downloads and WriteTimeout.
type deadlineWriter struct {
	w       io.Writer
	conn    net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if d.conn != nil && d.timeout > 0 {
		_ = d.conn.SetWriteDeadline(time.Now().Add(d.timeout))
	}
	return d.w.Write(p)
}
