package server

// resultSchemas are the shapes of the upload and results routes.
func resultSchemas() obj {
	trace := object(obj{"db": arr(number()), "phase_deg": arr(number())}, "db", "phase_deg")
	return obj{
		"ProjectReply": object(obj{"success": boolean(), "project_path": str(), "upload_id": str()}, "success", "project_path", "upload_id"),
		"ResultFiles":  arr(object(obj{"path": str(), "size": integer(), "modified": dateTime()}, "path", "size", "modified")),
		"Touchstone": object(obj{"ports": integer(), "parameter": str(), "format": obj{"type": "string", "enum": []string{"RI", "MA", "DB"}}, "version": str(),
			"z0": arr(number()), "frequencies_hz": arr(number()), "s": obj{"type": "object", "additionalProperties": trace}},
			"ports", "format", "z0", "frequencies_hz", "s"),
	}
}

// withSchemas adds more named schemas to base.
func withSchemas(base obj, more ...obj) obj {
	for _, m := range more {
		for k, v := range m {
			base[k] = v
		}
	}
	return base
}
