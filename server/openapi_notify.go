package server

// notifySchema is a submission's "notify" object (engine/notify).
func notifySchema() obj {
	return object(obj{"webhook": str(), "email": obj{"oneOf": []obj{str(), boolean()}},
		"on": arr(obj{"type": "string", "enum": []string{"started", "completed", "failed", "cancelled"}})})
}

// deliverySchema is one notification in a job's history.
func deliverySchema() obj {
	return object(obj{"id": str(), "job_id": str(), "attempt": integer(), "sweep_id": str(), "event": str(),
		"channel": obj{"type": "string", "enum": []string{"webhook", "email"}}, "to": str(),
		"status": obj{"type": "string", "enum": []string{"pending", "delivered", "failed"}}, "attempts": integer(),
		"created": dateTime(), "next_attempt": dateTime(), "last_attempt": ndateTime(), "last_error": str(), "last_code": integer()},
		"id", "event", "channel", "to", "status", "attempts", "created", "next_attempt", "last_attempt", "last_error", "last_code")
}
