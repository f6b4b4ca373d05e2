//go:build unix

package server

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// peerGone watches a request's connection while its handler waits
// (fasthttp reads nothing then): gone is closed when the client closes it
// or it breaks. It peeks (MSG_PEEK), so bytes the client sends meanwhile
// (a pipelined request) stay for the server; their arrival ends the watch
// without closing gone, as does a TLS close_notify before the client's
// close: such a wait just runs its course. stop ends the watch and must be
// called before the handler returns, so that the server's own reads and
// deadlines find the connection as they left it.
func peerGone(conn net.Conn) (gone <-chan struct{}, stop func()) {
	if u, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = u.NetConn() // TLS: the TCP connection under it
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, func() {}
	}
	// The server's read deadline for this request would end the watch
	// early; stop sets one to end it.
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return nil, func() {}
	}
	closed := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1)
		var n int
		var perr error
		err := raw.Read(func(fd uintptr) bool {
			n, _, perr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
			// Nothing to read yet: the runtime waits until there is.
			return !errors.Is(perr, syscall.EAGAIN) && !errors.Is(perr, syscall.EINTR)
		})
		if err == nil && (perr != nil || n == 0) {
			close(closed) // end of stream, or a reset
		}
	}()
	return closed, func() {
		_ = conn.SetReadDeadline(time.Unix(1, 0))
		<-done
		_ = conn.SetReadDeadline(time.Time{})
	}
}
