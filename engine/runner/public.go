package runner

// PublicError is implemented by errors that carry, beside their full text
// for the server's log, a message fit to show a client: a scheduler
// command's failure says which command failed and how, but not the lines
// it printed on stderr (paths, hosts, accounts, configuration), which
// Error quotes.
type PublicError interface {
	error
	Public() string
}
