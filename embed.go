// Package simjobs holds what the binary embeds: the built browser assets in
// static/ (see package.json and `make generate`).
package simjobs

import "embed"

// Static is the static/ folder: CSS, JavaScript and images the pages load.
//
//go:embed static
var Static embed.FS
