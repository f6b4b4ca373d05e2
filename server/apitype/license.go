package apitype

import "time"

// LicenseReport is what the license servers said at the last poll: the
// answer of GET /api/licenses and the data of licenses_updated.
type LicenseReport struct {
	Servers   []string   `json:"servers"`
	SampledAt *time.Time `json:"sampled_at"`
	// Error says which servers could not be read, "" when all were.
	Error    string          `json:"error"`
	Features []LicenseUse    `json:"features"`
	Status   []LicenseServer `json:"server_status"`
}

// LicenseUse is one feature summed over the servers that answered.
type LicenseUse struct {
	Name   string `json:"name"`
	Vendor string `json:"vendor"`
	Total  int    `json:"total"`
	InUse  int    `json:"in_use"`
	// Reserved is seats held for jobs just started that have not checked
	// them out yet.
	Reserved  int           `json:"reserved"`
	Free      int           `json:"free"`
	Uncounted bool          `json:"uncounted"`
	Users     []LicenseUser `json:"users"`
	// Queued is how many seats users wait for in FlexNet's own queue.
	Queued int `json:"queued"`
	// Reservations are the server's RESERVATION lines (counted in in_use).
	Reservations []LicenseReservation `json:"reservations"`
}

// LicenseUser is who holds seats.
type LicenseUser struct {
	User     string     `json:"user"`
	Host     string     `json:"host"`
	Since    *time.Time `json:"since"`
	Seats    int        `json:"seats"`
	Borrowed bool       `json:"borrowed"`
}

// LicenseReservation is seats the license server keeps for someone.
type LicenseReservation struct {
	Seats int    `json:"seats"`
	For   string `json:"for"` // "USER dave", "GROUP hfss_team"
}

// LicenseServer is one configured server.
type LicenseServer struct {
	Server  string          `json:"server"`
	Up      bool            `json:"up"`
	Error   string          `json:"error"`
	Vendors []LicenseVendor `json:"vendors"`
}

// LicenseVendor is one vendor daemon of a server.
type LicenseVendor struct {
	Name  string `json:"name"`
	Up    bool   `json:"up"`
	Error string `json:"error"`
}
