# lib.sh: the shared part of the fake scheduler CLIs under testdata/fake-*.
#
# A fake CLI keeps its cluster in FAKE_SCHED_DIR (one directory per test):
#
#   calls.log            one line per command run: "<command> <args...>"
#   down, down_exit      while present: an outage (see fs_init)
#   seq                  the last job number handed out
#   queues               the queues that exist, one a line (default: see each fake)
#   jobs/<n>/            one job:
#     name queue owner   as submitted
#     script             the batch script (or, for Windows HPC, argv lines)
#     stdout stderr cwd  where its output goes, where it runs
#     submit start end   epoch seconds
#     pid                the job's process group (its session leader)
#     exit               its exit status, once it ended on its own
#     cancelled          present once it was cancelled
#
# Jobs really run: the submit command starts the script in the background
# in a session of its own, so exit codes are the script's, and cancelling
# kills the whole session. FAKE_SCHED_START_DELAY (seconds) keeps a job
# queued that long before it starts.

fs_init() {
	FS=${FAKE_SCHED_DIR:?FAKE_SCHED_DIR is not set: the fake scheduler needs a state directory}
	mkdir -p "$FS/jobs"
	{
		printf '%s' "$FS_CMD"
		for a in "$@"; do printf ' %s' "$a"; done
		printf '\n'
	} >>"$FS/calls.log"
	# An outage: while the file "down" exists every command prints its
	# contents (the scheduler's own words, written by the test) on stderr
	# and fails, as the real commands do when their server is unreachable.
	if [ -f "$FS/down" ]; then
		cat "$FS/down" >&2
		exit "$(cat "$FS/down_exit" 2>/dev/null || echo 1)"
	fi
}

fs_lock() {
	while ! mkdir "$FS/lock" 2>/dev/null; do sleep 0.01; done
}

fs_unlock() { rmdir "$FS/lock"; }

# fs_newid prints a fresh job number.
fs_newid() {
	fs_lock
	n=$(cat "$FS/seq" 2>/dev/null || echo 0)
	n=$((n + 1))
	echo "$n" >"$FS/seq"
	fs_unlock
	echo "$n"
}

# fs_queue_ok QUEUE: is QUEUE one of the cluster's queues?
fs_queue_ok() {
	grep -qxF -- "$1" "$FS/queues" 2>/dev/null
}

# fs_get N FIELD prints a job's field (read with a builtin: the listings
# call this for every job, and forks are what makes a fake slow).
fs_get() {
	_v=
	[ -r "$FS/jobs/$1/$2" ] && IFS= read -r _v <"$FS/jobs/$1/$2"
	printf '%s\n' "$_v"
}

# fs_spawn N CMD...: run CMD for job N in the background, in its own
# session, in the job's cwd, output to its stdout/stderr files.
fs_spawn() {
	jd=$FS/jobs/$1
	shift
	date +%s >"$jd/submit"
	(
		cd "$(cat "$jd/cwd" 2>/dev/null || echo /)" 2>/dev/null || cd /
		exec setsid sh -c '
			jd=$1
			shift
			echo $$ >"$jd/pid"
			[ -e "$jd/cancelled" ] && exit 0
			sleep "${FAKE_SCHED_START_DELAY:-0}"
			[ -e "$jd/cancelled" ] && exit 0
			date +%s >"$jd/start"
			"$@" >>"$(cat "$jd/stdout")" 2>>"$(cat "$jd/stderr")" </dev/null
			rc=$?
			if [ ! -e "$jd/cancelled" ]; then
				echo "$rc" >"$jd/exit.tmp" && mv "$jd/exit.tmp" "$jd/exit"
			fi
			date +%s >"$jd/end"
		' fakejob "$jd" "$@"
	) >/dev/null 2>&1 &
}

# fs_state N prints queued, running, done or cancelled.
fs_state() {
	jd=$FS/jobs/$1
	if [ -e "$jd/cancelled" ]; then
		echo cancelled
	elif [ -e "$jd/exit" ]; then
		echo done
	elif [ -e "$jd/start" ]; then
		echo running
	else
		echo queued
	fi
}

# fs_cancel N: mark job N cancelled and kill its session.
fs_cancel() {
	jd=$FS/jobs/$1
	: >"$jd/cancelled"
	[ -e "$jd/end" ] || date +%s >"$jd/end"
	pid=$(cat "$jd/pid" 2>/dev/null)
	[ -n "$pid" ] && kill -TERM "-$pid" 2>/dev/null
	return 0
}

# fs_exists N
fs_exists() { [ -n "$1" ] && [ -d "$FS/jobs/$1" ] && [ -e "$FS/jobs/$1/name" ]; }

# fs_jobs prints every job number, oldest first.
fs_jobs() { ls "$FS/jobs" 2>/dev/null | sort -n; }

# fs_date EPOCH prints it as date(1) does in the schedulers' listings.
fs_date() { date -d "@$1" '+%a %b %e %H:%M:%S %Y' 2>/dev/null || date -r "$1" '+%a %b %e %H:%M:%S %Y'; }
