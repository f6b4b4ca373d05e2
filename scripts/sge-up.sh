#!/usr/bin/env bash
# sge-up.sh - single-node Son of Grid Engine 8.1.9 cell from Debian 12 packages, no systemd.
# Result: qsub/qstat/qdel/qacct work for root. Pids of the daemons it starts go to $RUN/*.pid.
# Use with:  export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
#
# simjobs: the Grid Engine tests (engine/runner/sge, cmd/simjobs) run against
# the cell this starts; .ci/run calls it as `SGE_SLOTS=8 scripts/sge-up.sh`
# and scripts/sge-down.sh at the end. Both need root. Beyond the shared
# script it declares SGE_SLOTS slots (default nproc: the test jobs mostly
# sleep, so more slots than cores lets them run side by side) and a parallel
# environment "mpi" ($fill_up) in all.q, which jobs of several slots need,
# and no load threshold (a busy machine must not stop the queue); the
# accounting is written every second, not every 15 (qacct sees ended jobs
# sooner).
set -euo pipefail
LAB=${SLURM_LAB:-/tmp/slurm-lab}
RUN=$LAB/sge-run
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
H=$(hostname -s)
COMMON=$SGE_ROOT/$SGE_CELL/common
SLOTS=${SGE_SLOTS:-$(nproc)}
mkdir -p "$RUN/cfg"
log() { echo "[sge-up $(date +%T)] $*"; }
alive() { [ -s "$1" ] && [ "$(cat /proc/$(cat "$1")/comm 2>/dev/null)" = "$2" ]; }

# 1. install (debconf: master host = this host, else act_qmaster stays empty)
if ! dpkg-query -W -f='${Status}' gridengine-master 2>/dev/null | grep -q "ok installed"; then
  echo "gridengine-common shared/gridenginemaster string $H" | debconf-set-selections
  echo "gridengine-common shared/gridengineconfig boolean true" | debconf-set-selections
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made=1; }
  APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends
      gridengine-master gridengine-exec gridengine-client)
  # simjobs: a fresh machine's package lists may be stale (as slurm-up.sh does)
  "${APT[@]}" || { apt-get -o DPkg::Lock::Timeout=600 -q update; "${APT[@]}"; }
  [ "${made:-0}" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# 2. host name fixes: 127.0.0.1 reverse-resolves to "localhost" (first in /etc/hosts), which
#    commlib rejects ("client IP resolved to host name localhost. This is not identical to
#    clients host name vm"). host_aliases maps localhost -> $H.
echo "$H" > "$COMMON/act_qmaster"
echo "$H localhost" > "$COMMON/host_aliases"
chown sgeadmin:sgeadmin "$COMMON/act_qmaster" "$COMMON/host_aliases"
mkdir -p /var/run/gridengine && chown sgeadmin:sgeadmin /var/run/gridengine

# 3. qmaster
if alive "$RUN/qmaster.pid" sge_qmaster; then log "qmaster running"; else
  rm -f /var/spool/gridengine/qmaster/qmaster.pid   # may be stale from an earlier run
  log "starting sge_qmaster"; /usr/sbin/sge_qmaster
  for _ in $(seq 50); do [ -s /var/spool/gridengine/qmaster/qmaster.pid ] && qstat >/dev/null 2>&1 && break; sleep 0.2; done
  cp /var/spool/gridengine/qmaster/qmaster.pid "$RUN/qmaster.pid"
fi

# 4. cell configuration (idempotent: "already exists" errors ignored)
qconf -as "$H" >/dev/null 2>&1 || true
qconf -ah "$H" >/dev/null 2>&1 || true
printf 'hostname %s\nload_scaling NONE\ncomplex_values NONE\nuser_lists NONE\nxuser_lists NONE\nprojects NONE\nxprojects NONE\nusage_scaling NONE\nreport_variables NONE\n' "$H" > "$RUN/cfg/exechost"
qconf -Ae "$RUN/cfg/exechost" >/dev/null 2>&1 || true
printf 'group_name @allhosts\nhostlist %s\n' "$H" > "$RUN/cfg/allhosts"
qconf -Ahgrp "$RUN/cfg/allhosts" >/dev/null 2>&1 || true
if ! qconf -sq all.q >/dev/null 2>&1; then
  qconf -sq | sed -e 's/^qname .*/qname all.q/' -e 's/^hostlist .*/hostlist @allhosts/' \
    -e "s/^slots .*/slots $SLOTS/" -e 's#^shell .*#shell /bin/bash#' -e 's/^pe_list .*/pe_list NONE/' > "$RUN/cfg/all.q"
  qconf -Aq "$RUN/cfg/all.q"
fi
# simjobs: the slots asked for, and the parallel environment of jobs that
# span several slots (qsub -pe mpi N; PE_HOSTFILE lists the hosts)
qconf -sq all.q | grep -q "^slots  *$SLOTS\$" || qconf -mattr queue slots "$SLOTS" all.q >/dev/null
printf 'pe_name mpi\nslots 9999\nuser_lists NONE\nxuser_lists NONE\nstart_proc_args NONE\nstop_proc_args NONE\nallocation_rule $fill_up\ncontrol_slaves FALSE\njob_is_first_task TRUE\nurgency_slots min\naccounting_summary FALSE\nqsort_args NONE\n' > "$RUN/cfg/pe_mpi"
qconf -sp mpi >/dev/null 2>&1 || qconf -Ap "$RUN/cfg/pe_mpi" >/dev/null
qconf -sq all.q | grep -q '^pe_list .*\<mpi\>' || qconf -mattr queue pe_list mpi all.q >/dev/null
# a busy machine (CI, other builds) must not put the queue in alarm state (load above np_load_avg=1.75), where it takes no job
qconf -sq all.q | grep -q '^load_thresholds  *NONE$' || qconf -rattr queue load_thresholds NONE all.q >/dev/null
# root may submit (min_uid 1000 by default); no login shells (root's ~/.profile can be slow)
qconf -sconf global | sed -e 's/^min_uid .*/min_uid 0/' -e 's/^min_gid .*/min_gid 0/' \
  -e 's/^login_shells .*/login_shells none/' -e 's/flush_time=00:00:15/flush_time=00:00:01/' > "$RUN/cfg/global"
(cd "$RUN/cfg" && qconf -Mconf global >/dev/null)
qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
  -e 's/^flush_submit_sec .*/flush_submit_sec 1/' -e 's/^flush_finish_sec .*/flush_finish_sec 1/' > "$RUN/cfg/sched"
qconf -Msconf "$RUN/cfg/sched" >/dev/null

# 5. execd
if alive "$RUN/execd.pid" sge_execd; then log "execd running"; else
  rm -f /var/spool/gridengine/execd/*/execd.pid      # may be stale from an earlier run
  log "starting sge_execd"; /usr/sbin/sge_execd
  for _ in $(seq 50); do f=$(ls /var/spool/gridengine/execd/*/execd.pid 2>/dev/null | head -1 || true); [ -n "$f" ] && [ -s "$f" ] && break; sleep 0.2; done
  cp "$f" "$RUN/execd.pid"
fi
for _ in $(seq 100); do qstat -f 2>/dev/null | grep -q "all.q@.* [0-9.]*  *lx-amd64 *$" && break; sleep 0.2; done
qstat -f
log "SGE up"
