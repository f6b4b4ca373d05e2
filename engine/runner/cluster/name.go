package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// NamePrefix starts the scheduler job name of every job simjobs submits.
const NamePrefix = "simjobs."

var (
	jobIDPattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	instancePattern = regexp.MustCompile(`^[a-z0-9]{1,16}$`)
)

// JobName is the name a job attempt carries at the scheduler:
// "simjobs.<instance>.<job id>.<attempt>", or "simjobs.<job id>.<attempt>"
// without an instance. The dots cannot occur in a job id or an instance,
// so the name is unambiguous, and it is all a restarted server needs to
// find a submission a crash interrupted.
//
// The instance tells apart servers (or one server's successive databases)
// that reuse job ids: without it, a job id submitted again after the
// database was wiped would find last week's job of the same name and
// report its end instead of running. simjobs serve keeps one per data
// directory (see Instance in package main).
//
// When the name would be longer than max (Windows HPC allows 80
// characters), the id is cut and a hash of the whole id added
// ("...<id prefix>~<8 hex>.<attempt>"): still deterministic, still unique
// in practice.
func JobName(instance, id string, attempt int, max int) (string, error) {
	if !jobIDPattern.MatchString(id) {
		return "", fmt.Errorf("job id %q: must be 1 to 128 letters, digits, '_' or '-'", id)
	}
	if attempt < 1 {
		return "", fmt.Errorf("job %s: attempt %d: must be at least 1", id, attempt)
	}
	prefix := NamePrefix
	if instance != "" {
		if !instancePattern.MatchString(instance) {
			return "", fmt.Errorf("instance %q: must be 1 to 16 lower-case letters or digits", instance)
		}
		prefix += instance + "."
	}
	suffix := "." + strconv.Itoa(attempt)
	name := prefix + id + suffix
	if max <= 0 || len(name) <= max {
		return name, nil
	}
	sum := sha256.Sum256([]byte(id))
	hash := "~" + hex.EncodeToString(sum[:4])
	keep := max - len(prefix) - len(hash) - len(suffix)
	if keep < 1 {
		return "", fmt.Errorf("job name limit %d is too short for job %s", max, id)
	}
	return prefix + id[:keep] + hash + suffix, nil
}

// IsOurName reports whether a scheduler job name is one JobName makes.
func IsOurName(name string) bool {
	if !strings.HasPrefix(name, NamePrefix) {
		return false
	}
	rest := name[len(NamePrefix):]
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 {
		return false
	}
	n, err := strconv.Atoi(rest[i+1:])
	return err == nil && n >= 1
}

// CheckInstance validates an instance token for JobName.
func CheckInstance(instance string) error {
	if instance == "" || instancePattern.MatchString(instance) {
		return nil
	}
	return fmt.Errorf("instance %q: must be 1 to 16 lower-case letters or digits", instance)
}
