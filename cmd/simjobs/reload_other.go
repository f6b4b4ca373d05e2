//go:build !unix

package main

import "os"

// notifyReload: there is no SIGHUP here; the tokens file is still
// watched for changes.
func notifyReload(chan<- os.Signal) bool { return false }
