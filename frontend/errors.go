package frontend

func roleOf(kind string) string {
	if kind == "error" {
		return "alert"
	}
	return "status"
}
