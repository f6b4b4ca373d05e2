package engine

import "context"

// Validate checks a submission as Submit does, without submitting it: a
// form whose own parsing failed for some fields asks about the rest, so
// that it reports every mistake at once.
func (m *Manager) Validate(ctx context.Context, req SubmitRequest) error {
	user, err := submitUser(ctx, req.User)
	if err != nil {
		return err
	}
	_, err = m.policy.prepare(req.Config, user, m.now().UTC(), false)
	return err
}
