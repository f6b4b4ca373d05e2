package store

import (
	"testing"

	"github.com/simjobs/simjobs/engine/store/storetest"
)

func TestSQLiteOutbox(t *testing.T) {
	storetest.RunOutboxSuite(t, func(t *testing.T) storetest.OutboxStore { return openTest(t) })
}
