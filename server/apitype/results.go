package apitype

import "time"

// ResultFile is one file a job wrote in its folder
// (GET /api/jobs/{id}/files): its path relative to the folder, with '/'
// separators.
type ResultFile struct {
	Path     string    `json:"path"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
}

// TouchstoneView is a Touchstone result as magnitude and phase
// (GET /api/jobs/{id}/touchstone/{path}).
type TouchstoneView struct {
	Ports     int    `json:"ports"`
	Parameter string `json:"parameter"`
	// Format is the file's number format: "MA", "DB" or "RI".
	Format      string                     `json:"format"`
	Version     string                     `json:"version"`
	Z0          []float64                  `json:"z0"`
	Frequencies []float64                  `json:"frequencies_hz"`
	S           map[string]TouchstoneTrace `json:"s"`
}

// TouchstoneTrace is one parameter against frequency.
type TouchstoneTrace struct {
	DB       []float64 `json:"db"`
	PhaseDeg []float64 `json:"phase_deg"`
}
