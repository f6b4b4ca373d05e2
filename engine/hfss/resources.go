package hfss

import "github.com/simjobs/simjobs/engine/runner"

// Resources is what the scheduler options ask a scheduler for, in the
// runner's terms: the one place the two are matched field by field.
func (o SchedulerOptions) Resources() runner.Resources {
	return runner.Resources{
		Queue: o.Queue, Time: o.Time, Nodes: o.Nodes, TasksPerNode: o.TasksPerNode,
		CoresPerNode: o.CoresPerNode, Memory: o.Memory, Account: o.Account,
		Reservation: o.Reservation, QOS: o.QOS, Constraints: o.Constraints,
		Exclusive: o.Exclusive, GPUs: o.GPUs, GPUType: o.GPUType, Priority: o.Priority,
		Email: o.EmailNotification, RunAsAdmin: o.RunAsAdministrator,
	}
}
