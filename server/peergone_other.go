//go:build !unix

package server

import "net"

// peerGone cannot tell here that a waiting request's client went away: its
// wait runs its course.
func peerGone(net.Conn) (gone <-chan struct{}, stop func()) { return nil, func() {} }
