package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/simjobs/simjobs/engine"
)

// refusingGate refuses every job and would hold none.
type refusingGate struct{ heldGate }

func (*refusingGate) Refuse(j engine.GateJob) error {
	return &engine.ValidationError{Field: "command[0]", Message: "could never start: " + j.ID}
}

func TestRefuserRefusesAtSubmission(t *testing.T) {
	t.Parallel()
	g := &refusingGate{heldGate: heldGate{held: map[string]string{}}}
	b := setup(t, setupOpts{gates: []engine.Gate{g}})
	_, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: b.command("never")})
	var ve *engine.ValidationError
	if !errors.As(err, &ve) || ve.Error() != "command[0]: could never start: never" {
		t.Fatalf("submit = %v", err)
	}
	if _, err := b.m.Job(context.Background(), "never"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("a refused job was stored: %v", err)
	}
	if admitted, _ := g.seen(); len(admitted) != 0 {
		t.Fatalf("admitted %v", admitted)
	}
}
