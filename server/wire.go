package server

import (
	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/engine/results"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/engine/touchstone"
	"github.com/simjobs/simjobs/server/apitype"
)

// The engine's values become the wire format (package apitype) here, at
// the edge: the engine knows nothing of the wire, and the client knows
// nothing of the engine. Structs with the same fields convert directly
// (apitype.Limits(l)), so a field added on one side only stops the build;
// the others are copied field by field, and wire_test.go fills every field
// of every engine type and checks the JSON comes out the same.

func jobOut(j engine.Job) apitype.Job {
	return apitype.Job{
		ID: j.ID, User: j.User, Priority: j.Priority, Status: apitype.Status(j.Status), Config: j.Config,
		SubmitTime: j.SubmitTime, StartTime: j.StartTime, EndTime: j.EndTime, ReturnCode: j.ReturnCode,
		SchedulerJobID: j.SchedulerJobID, Error: j.Error, Attempt: j.Attempt, Progress: j.Progress,
		WaitingReason: j.WaitingReason, QueuePosition: j.QueuePosition,
		SweepID: j.SweepID, DependsOn: dependenciesOut(j.DependsOn), Retry: (*apitype.RetryPolicy)(j.Retry),
	}
}

func jobsOut(in []engine.Job) []apitype.Job {
	return convertSlice(in, jobOut)
}

func dependenciesOut(in []engine.Dependency) []apitype.Dependency {
	return convertSlice(in, func(d engine.Dependency) apitype.Dependency { return apitype.Dependency(d) })
}

func transitionsOut(in []engine.Transition) []apitype.Transition {
	return convertSlice(in, func(t engine.Transition) apitype.Transition {
		return apitype.Transition{JobID: t.JobID, Attempt: t.Attempt, Status: apitype.Status(t.Status), Time: t.Time, Message: t.Message, Actor: t.Actor}
	})
}

// deliveryOut leaves out the target and the payload: a webhook URL's path
// is a secret (Slack, Teams), Display is what people see.
func deliveryOut(d engine.Delivery) apitype.Delivery {
	return apitype.Delivery{
		ID: d.ID, JobID: d.JobID, Attempt: d.Attempt, SweepID: d.SweepID, Event: d.Event, Channel: d.Channel, Display: d.Display,
		Status: d.Status, Attempts: d.Attempts, Created: d.Created, NextAttempt: d.NextAttempt, LastAttempt: d.LastAttempt,
		LastError: d.LastError, LastCode: d.LastCode,
	}
}

func deliveriesOut(in []engine.Delivery) []apitype.Delivery {
	return convertSlice(in, deliveryOut)
}

func auditOut(in []engine.AuditEntry) []apitype.AuditEntry {
	return convertSlice(in, func(e engine.AuditEntry) apitype.AuditEntry { return apitype.AuditEntry(e) })
}

func limitsOut(l engine.Limits) apitype.Limits { return apitype.Limits(l) }

func sampleOut(s host.Sample) apitype.HostSample { return apitype.HostSample(s) }

func partitionsOut(in []runner.Partition) []apitype.Partition {
	return convertSlice(in, func(p runner.Partition) apitype.Partition { return apitype.Partition(p) })
}

func sweepOut(s engine.Sweep) apitype.Sweep {
	var counts map[apitype.Status]int
	if s.Counts != nil {
		counts = make(map[apitype.Status]int, len(s.Counts))
		for st, n := range s.Counts {
			counts[apitype.Status(st)] = n
		}
	}
	params := apitype.SweepParams(convertSlice(s.Parameters, func(p expand.Param) apitype.SweepParam { return apitype.SweepParam(p) }))
	return apitype.Sweep{
		ID: s.ID, Name: s.Name, User: s.User, Total: s.Total, Counts: counts, Parameters: params, Mode: s.Mode,
		MaxParallel: s.MaxParallel, Priority: s.Priority, SubmitTime: s.SubmitTime, EndTime: s.EndTime, JobIDs: s.JobIDs,
	}
}

func sweepsOut(in []engine.Sweep) []apitype.Sweep {
	return convertSlice(in, sweepOut)
}

func filesOut(in []results.File) []apitype.ResultFile {
	return convertSlice(in, func(f results.File) apitype.ResultFile { return apitype.ResultFile(f) })
}

func touchstoneOut(v touchstone.View) apitype.TouchstoneView {
	var s map[string]apitype.TouchstoneTrace
	if v.S != nil {
		s = make(map[string]apitype.TouchstoneTrace, len(v.S))
		for k, t := range v.S {
			s[k] = apitype.TouchstoneTrace(t)
		}
	}
	return apitype.TouchstoneView{Ports: v.Ports, Parameter: v.Parameter, Format: string(v.Format), Version: v.Version, Z0: v.Z0, Frequencies: v.Frequencies, S: s}
}

func licenseReportOut(r license.Report) apitype.LicenseReport {
	out := apitype.LicenseReport{Servers: r.Servers, SampledAt: r.SampledAt, Error: r.Error}
	if r.Features != nil {
		out.Features = make([]apitype.LicenseUse, len(r.Features))
		for i, f := range r.Features {
			out.Features[i] = apitype.LicenseUse{
				Name: f.Name, Vendor: f.Vendor, Total: f.Total, InUse: f.InUse, Reserved: f.Reserved, Free: f.Free,
				Uncounted: f.Uncounted, Users: convertSlice(f.Users, func(u license.User) apitype.LicenseUser { return apitype.LicenseUser(u) }),
				Queued: f.Queued, Reservations: convertSlice(f.Reservations, func(r license.ServerReservation) apitype.LicenseReservation { return apitype.LicenseReservation(r) }),
			}
		}
	}
	if r.Status != nil {
		out.Status = make([]apitype.LicenseServer, len(r.Status))
		for i, s := range r.Status {
			out.Status[i] = apitype.LicenseServer{Server: s.Server, Up: s.Up, Error: s.Error,
				Vendors: convertSlice(s.Vendors, func(v license.VendorStatus) apitype.LicenseVendor { return apitype.LicenseVendor(v) })}
		}
	}
	return out
}

func logSummaryOut(s solverlog.Summary) apitype.LogSummary {
	out := apitype.LogSummary{
		Solver: s.Solver, SolverVersion: s.SolverVersion, Product: s.Product, Version: s.Version, Build: s.Build,
		DesignType: s.DesignType, Project: s.Project, Design: s.Design, Setup: s.Setup, ProjectPath: s.ProjectPath,
		CommandLine: s.CommandLine, User: s.User, Host: s.Host,
		Machines: convertSlice(s.Machines, func(m solverlog.Machine) apitype.LogMachine { return apitype.LogMachine(m) }),
		Cores:    s.Cores, State: apitype.LogState(s.State), Error: s.Error,
		InitialMesh: (*apitype.LogInitialMesh)(s.InitialMesh), Sweep: (*apitype.LogSweep)(s.Sweep),
		Warnings: logMessagesOut(s.Warnings), Errors: logMessagesOut(s.Errors), PeakMemoryMB: s.PeakMemoryMB,
		Stages:    convertSlice(s.Stages, func(st solverlog.Stage) apitype.LogStage { return apitype.LogStage(st) }),
		StartedAt: s.StartedAt, EndedAt: s.EndedAt, LastActivity: s.LastActivity, ElapsedSeconds: s.ElapsedSeconds, Lines: s.Lines,
	}
	if a := s.Adaptive; a != nil {
		out.Adaptive = &apitype.LogAdaptive{
			Frequency: a.Frequency, Passes: convertSlice(a.Passes, func(p solverlog.Pass) apitype.LogPass { return apitype.LogPass(p) }),
			CurrentPass: a.CurrentPass, Converged: a.Converged, TargetMaxMagDeltaS: a.TargetMaxMagDeltaS,
		}
	}
	return out
}

func logMessagesOut(m solverlog.Messages) apitype.LogMessages {
	return apitype.LogMessages{Count: m.Count, Last: convertSlice(m.Last, func(m solverlog.Message) apitype.LogMessage { return apitype.LogMessage(m) })}
}

// convertSlice converts each element; nil stays nil (null on the wire) and
// empty stays empty ([]), as the engine's JSON has them.
func convertSlice[E, W any](in []E, f func(E) W) []W {
	if in == nil {
		return nil
	}
	out := make([]W, len(in))
	for i, e := range in {
		out[i] = f(e)
	}
	return out
}
