package cluster

import (
	"errors"
	"fmt"

	"github.com/simjobs/simjobs/engine/runner"
)

var _ runner.PublicError = (*CommandError)(nil)

// Public says which command failed and how, without what it printed: the
// API shows this, the server's log has Error.
func (e *CommandError) Public() string {
	switch {
	case errors.Is(e.Err, ErrExit):
		return fmt.Sprintf("%s: exit status %d", e.Command, e.ExitCode)
	case errors.Is(e.Err, ErrCommandNotFound):
		return e.Command + ": command not found"
	case errors.Is(e.Err, ErrTimeout):
		return e.Command + ": timed out"
	case errors.Is(e.Err, ErrOutput):
		return e.Command + ": more output than expected"
	}
	return e.Command + ": failed"
}
