package engine

import "context"

// Validate checks a submission as Submit does, without submitting it: a
// form whose own parsing failed for some fields asks about the rest, so
// that it reports every mistake at once.
func (m *Manager) Validate(_ context.Context, req SubmitRequest) error {
	_, err := m.policy.prepare(req.Config, req.User, m.now().UTC(), false)
	return err
}
