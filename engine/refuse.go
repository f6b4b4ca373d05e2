package engine

// A Refuser is a Gate that can tell at submission that a job could never
// pass it (a license feature of which the job needs more seats than exist):
// Submit then refuses the job with the error instead of queueing it
// forever. Refuse is called without the Manager's lock, for each gate
// implementing it; a *ValidationError is answered 400.
type Refuser interface {
	Refuse(j GateJob) error
}

// refuse asks the gates that can refuse whether a prepared submission could
// ever start.
func (m *Manager) refuse(p prepared) error {
	j := GateJob{ID: p.id, User: p.user, Kind: p.kind, Cluster: m.cluster != nil, Config: p.config}
	for _, g := range m.gates {
		if r, ok := g.(Refuser); ok {
			if err := r.Refuse(j); err != nil {
				return err
			}
		}
	}
	return nil
}
