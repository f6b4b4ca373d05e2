// Package hfss is the configuration of an HFSS batch solve as PyEDB's job
// manager defines it (HFSSSimulationConfig, with its MachineNode,
// HFSS3DLayoutBatchOptions and SchedulerOptions), field for field and with the
// same JSON names, so configurations written by PyEDB clients decode here
// unchanged.
//
// The package is pure: it reads no files and starts no processes. A server
// turns a request body into a command line in four steps:
//
//	cfg, err := hfss.Decode(body) // JSON over the defaults; *FieldError on a wrong type
//	cfg.Normalize()               // trim, canonical spelling, derived defaults
//	err = cfg.Validate()          // every rule that needs no filesystem; *FieldError
//	argv := cfg.CommandLine(solver)
//
// Checks that need the host (the project exists, sits under the allowed roots,
// the solver is allowed) belong to the caller.
//
// The command lines are argv slices, never shell strings: CommandLine and
// SchedulerCommandLine reproduce what PyEDB's generate_command_list builds, and
// WindowsCommandLine and PosixCommandLine show how such an argv reaches
// CreateProcess on Windows or is written into a POSIX shell script.
package hfss
