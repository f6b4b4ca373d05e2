package projects

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
)

// maxIDName bounds the readable part of a batch job id.
const maxIDName = 80

// JobID is the id a batch gives the job of a project: the project's name
// made safe for a job id, then a hash of its absolute path and of what it
// solves (design, setup). The same folder submitted again gives the same
// ids, so a re-run starts the next attempt of each job (or leaves a job
// still waiting or running alone) instead of adding a copy of every job.
// It matches the job id rule ^[A-Za-z0-9_-]{1,128}$.
func JobID(path, design, setup string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	sum := sha256.Sum256([]byte(filepath.Clean(abs) + "\x00" + design + "\x00" + setup))
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, filepath.Base(abs))
	if len(name) > maxIDName {
		name = name[:maxIDName]
	}
	return name + "_" + hex.EncodeToString(sum[:4])
}
