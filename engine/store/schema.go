package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations holds the schema, one entry per version: migrations[i] takes a
// database from user_version i to i+1. Entries are append-only; a shipped
// migration is never edited, a change is a new entry.
var migrations = []string{
	// Version 1.
	//
	// jobs holds the latest attempt of every job. Its rowid is first_seq,
	// the seq of the job's first attempt, so "submission order" is the
	// table's own order: listing walks the b-tree and stops at LIMIT, and
	// every secondary index ends in first_seq implicitly or explicitly.
	// seq is the current attempt's seq (what the queue orders by).
	//
	// Times are UTC unix nanoseconds; NULL is "not set".
	// project_path is copied out of config so search never parses JSON.
	`
CREATE TABLE jobs (
	first_seq        INTEGER PRIMARY KEY,
	id               TEXT    NOT NULL UNIQUE,
	seq              INTEGER NOT NULL,
	attempt          INTEGER NOT NULL,
	user             TEXT    NOT NULL,
	priority         INTEGER NOT NULL,
	status           TEXT    NOT NULL,
	kind             TEXT    NOT NULL,
	config           TEXT,
	project_path     TEXT    NOT NULL,
	submit_time      INTEGER NOT NULL,
	start_time       INTEGER,
	end_time         INTEGER,
	return_code      INTEGER,
	scheduler_job_id TEXT,
	error            TEXT    NOT NULL,
	progress         TEXT,
	pid              INTEGER,
	pid_start        INTEGER
);
CREATE INDEX jobs_status_order      ON jobs (status, first_seq);
CREATE INDEX jobs_user_order        ON jobs (user, first_seq);
CREATE INDEX jobs_user_status_order ON jobs (user, status, first_seq);

-- Earlier attempts, archived by JobInsert when a job is submitted again.
CREATE TABLE attempts (
	id               TEXT    NOT NULL REFERENCES jobs (id),
	attempt          INTEGER NOT NULL,
	seq              INTEGER NOT NULL,
	user             TEXT    NOT NULL,
	priority         INTEGER NOT NULL,
	status           TEXT    NOT NULL,
	kind             TEXT    NOT NULL,
	config           TEXT,
	project_path     TEXT    NOT NULL,
	submit_time      INTEGER NOT NULL,
	start_time       INTEGER,
	end_time         INTEGER,
	return_code      INTEGER,
	scheduler_job_id TEXT,
	error            TEXT    NOT NULL,
	progress         TEXT,
	pid              INTEGER,
	pid_start        INTEGER,
	UNIQUE (id, attempt)
);

-- Every status change; rowid order is commit order.
CREATE TABLE transitions (
	job_id  TEXT    NOT NULL REFERENCES jobs (id),
	attempt INTEGER NOT NULL,
	status  TEXT    NOT NULL,
	time    INTEGER NOT NULL,
	message TEXT    NOT NULL
);
CREATE INDEX transitions_job ON transitions (job_id);

-- Latest attempts per status, kept exact by the triggers below so that
-- JobCountByStatus reads a handful of rows instead of scanning jobs.
CREATE TABLE job_counts (
	status TEXT PRIMARY KEY,
	n      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN
	INSERT INTO job_counts (status, n) VALUES (new.status, 1)
		ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER jobs_count_update AFTER UPDATE OF status ON jobs
WHEN old.status IS NOT new.status BEGIN
	UPDATE job_counts SET n = n - 1 WHERE status = old.status;
	INSERT INTO job_counts (status, n) VALUES (new.status, 1)
		ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
-- Jobs are never deleted today. Whatever deletes one some day must also
-- remove its text from jobs_search (see ftsBatch).
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
	UPDATE job_counts SET n = n - 1 WHERE status = old.status;
END;

-- Substring search over id, user and project path. A trigram index turns
-- "contains" into an index lookup (a LIKE scan of a million rows takes
-- about a second in this SQLite). External content: the text lives in
-- jobs, the index holds only trigrams, keyed by first_seq so matches come
-- out in listing order and LIMIT stops the walk.
--
-- The writer keeps it in sync once per batch (see ftsBatch), not with
-- triggers: FTS5 flushes its pending terms to a new segment at every
-- statement savepoint, so a trigger per insert wrote a segment per job and
-- cut group-commit throughput by three quarters.
CREATE VIRTUAL TABLE jobs_search USING fts5 (
	id, user, project_path,
	content = 'jobs', content_rowid = 'first_seq', tokenize = 'trigram'
);

-- Store-wide counters. next_seq survives restarts so a seq is never reused.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('next_seq', 1);
`,
	// Version 2.
	//
	// The search index is brought up to date after the writes, off the
	// submission path (see searchQueue): search_seq is the highest attempt
	// seq whose text is indexed. Databases from version 1 were indexed in
	// step with every write.
	`INSERT INTO meta (key, value) SELECT 'search_seq', value - 1 FROM meta WHERE key = 'next_seq';`,
	// Version 3 (audit trail).
	//
	// Every transition names who caused it (a user, or 'system' for the
	// server itself); transitions recorded before have ''. Changes that are
	// not about one job (limits, drains) have a table of their own, read
	// newest first by its rowid.
	`
ALTER TABLE transitions ADD COLUMN actor TEXT NOT NULL DEFAULT '';
CREATE TABLE audit (
	id     INTEGER PRIMARY KEY,
	time   INTEGER NOT NULL,
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	detail TEXT    NOT NULL
);
`,
	// Version 4.
	//
	// settings holds values changed at run time that outlive a restart
	// (the limits, as JSON under the key "limits"), one row per key.
	`CREATE TABLE settings (
		key        TEXT PRIMARY KEY,
		value      TEXT NOT NULL,
		updated_at TEXT NOT NULL
	) WITHOUT ROWID;`,
	// Version 5 (sweeps, dependencies and retries).
	//
	// A sweep is one submission of many jobs; sweep_jobs says which job is
	// which variation (job ids are <sweep id>_<index>). job_plans holds the
	// dependencies and retry policy of a job's current attempt as JSON.
	`
CREATE TABLE sweeps (
	seq          INTEGER PRIMARY KEY,
	id           TEXT    NOT NULL UNIQUE,
	name         TEXT    NOT NULL,
	user         TEXT    NOT NULL,
	mode         TEXT    NOT NULL,
	max_parallel INTEGER NOT NULL,
	priority     INTEGER NOT NULL,
	parameters   TEXT    NOT NULL,
	total        INTEGER NOT NULL,
	submit_time  INTEGER NOT NULL
);
CREATE INDEX sweeps_user_order ON sweeps (user, seq);
CREATE TABLE sweep_jobs (
	job_id   TEXT    PRIMARY KEY,
	sweep_id TEXT    NOT NULL,
	idx      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX sweep_jobs_order ON sweep_jobs (sweep_id, idx);
CREATE TABLE job_plans (
	job_id     TEXT PRIMARY KEY,
	depends_on TEXT,
	retry      TEXT
) WITHOUT ROWID;
`,
	// Version 6: the notification outbox (engine/notify).
	//
	// deliveries holds every notification owed to one destination (a
	// webhook URL, a mail address) until it is delivered or given up; its
	// payload is fixed when it is created so every retry sends the same
	// bytes. outbox_seq in meta is the transitions rowid up to which status
	// changes have been turned into deliveries: it starts at the current
	// end, so an existing database does not notify its past. job_notify
	// keeps the notify spec each attempt was submitted with.
	`
CREATE TABLE deliveries (
	id           TEXT    PRIMARY KEY,
	job_id       TEXT    NOT NULL,
	attempt      INTEGER NOT NULL,
	sweep_id     TEXT    NOT NULL,
	event        TEXT    NOT NULL,
	channel      TEXT    NOT NULL,
	target       TEXT    NOT NULL,
	display      TEXT    NOT NULL,
	payload      BLOB    NOT NULL,
	status       TEXT    NOT NULL,
	attempts     INTEGER NOT NULL,
	created      INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	last_attempt INTEGER,
	last_error   TEXT    NOT NULL,
	last_code    INTEGER NOT NULL
);
CREATE INDEX deliveries_due   ON deliveries (status, next_attempt);
CREATE INDEX deliveries_job   ON deliveries (job_id, created);
CREATE INDEX deliveries_sweep ON deliveries (sweep_id, created);
CREATE TABLE job_notify (
	job_id  TEXT    NOT NULL,
	attempt INTEGER NOT NULL,
	spec    TEXT    NOT NULL,
	PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;
INSERT INTO meta (key, value) SELECT 'outbox_seq', COALESCE(MAX(rowid), 0) FROM transitions;
`,
	// Version 7.
	//
	// A sweep's own notify object (one notification when the whole sweep
	// ends), as submitted and checked; '' for none.
	`ALTER TABLE sweeps ADD COLUMN notify TEXT NOT NULL DEFAULT '';`,
	// Version 8.
	//
	// Ended jobs by end time, for retention (JobPrune), which would
	// otherwise scan every ended job on each batch. Partial: queued and
	// running jobs have no end time.
	`CREATE INDEX jobs_end_time ON jobs (end_time) WHERE end_time IS NOT NULL;`,
}

// schemaVersion is the user_version a database has after Open.
var schemaVersion = len(migrations)

// SchemaVersion is the schema version this build writes (the database's
// user_version after Open). Cached test databases are named by it.
func SchemaVersion() int { return schemaVersion }

// migrate brings the database to SchemaVersion inside one transaction, so a
// crash mid-migration leaves the previous version intact. Running it on an
// up-to-date database changes nothing.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return &newerSchemaError{version: version}
	}
	if version == len(migrations) {
		return nil
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migration to version %d: %w", v+1, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// newerSchemaError: the database was written by a newer simjobs.
type newerSchemaError struct{ version int }

func (e *newerSchemaError) Error() string {
	return fmt.Sprintf("schema version %d is newer than this simjobs knows (%d)", e.version, schemaVersion)
}
