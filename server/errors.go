package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine/runner"
)

// publicError is an answer whose message is chosen for the client, with a
// cause that may say more than a client should see (a scheduler's stderr:
// paths, hosts, accounts). errorHandler shows Message and logs Cause.
type publicError struct {
	Status  int
	Message string
	Cause   error
}

func (e *publicError) Error() string { return e.Message + ": " + e.Cause.Error() }
func (e *publicError) Unwrap() error { return e.Cause }

// schedulerError is what the API says when the cluster scheduler fails a
// query: which command failed and how (runner.PublicError), never what it
// printed, which goes to the server's log.
func schedulerError(err error) error {
	msg := "scheduler: the query failed"
	var pe runner.PublicError
	if errors.As(err, &pe) {
		msg = "scheduler: " + pe.Public()
	}
	return &publicError{Status: fiber.StatusBadGateway, Message: msg + " (the server log has the details)", Cause: err}
}
