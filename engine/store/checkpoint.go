package store

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often the checkpointer folds committed WAL frames
// into the database file, when there were commits since the last time.
const checkpointEvery = 250 * time.Millisecond

// checkpointer runs SQLite's WAL checkpoints on a connection of its own.
//
// SQLite checkpoints automatically inside the commit that takes the WAL past
// 1,000 pages, on the committing connection: with one writer, every few
// hundred commits one commit (and every write batched with it) also waited
// for the database file to be written and fsynced, which was the tail of the
// submit→running latency. The writer runs with wal_autocheckpoint=0 and this
// goroutine checkpoints PASSIVE (never blocking the writer or the readers)
// a few times a second instead. Durability does not change: commits still
// sync the WAL as the synchronous setting says; the checkpoint only moves
// already-durable frames into the main file.
type checkpointer struct {
	db    *sql.DB
	dirty atomic.Bool
	quit  chan struct{}
	done  chan struct{}
}

func startCheckpointer(path string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

// committed notes that the WAL has new frames.
func (c *checkpointer) committed() {
	if c != nil {
		c.dirty.Store(true)
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-tick.C:
		}
		if c.dirty.Swap(false) {
			// A failed checkpoint (a full volume, say) leaves the frames in
			// the WAL, where they are safe; the next one, or Close's
			// TRUNCATE, tries again.
			_, _ = c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// stop ends the checkpointer; Close checkpoints the rest itself.
func (c *checkpointer) stop() error {
	if c == nil {
		return nil
	}
	close(c.quit)
	<-c.done
	return c.db.Close()
}
