// Package apitype is the wire format of the simjobs API: the JSON shapes
// the REST routes answer and the /ws stream carries, as Go types.
//
// The server answers with these types and the Go client (package client)
// decodes into them, so a program that only talks to a server compiles
// this package and the standard library, not the engine with its SQLite
// driver, Fiber and gopsutil. The package imports nothing of simjobs.
//
// The engine does not know this package: the server converts engine values
// to these types at its edge (server/wire.go), and a test there fills every
// field of every engine type and checks that the JSON of the converted
// value is the JSON of the engine value, byte for byte, so a field added to
// the engine cannot be dropped from the wire unseen. The JSON names are
// fixed by SPEC.md.
package apitype
