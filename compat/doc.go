// Package compat proves that client libraries nobody here wrote work with
// the server: Debian's python3-aiohttp and python3-socketio driving it the
// way PyEDB's job-manager clients do (pyedb_client.py), and the npm
// socket.io-client (socketio_client.mjs). The Go tests start a real server
// and run those scripts; they skip, saying why, when the libraries are
// missing, and fail instead under CI=true.
package compat
