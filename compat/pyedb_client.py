#!/usr/bin/python3
"""Drive a simjobs server the way PyEDB's job-manager clients do.

Uses only what those clients use: aiohttp for REST (submit_local_job.py,
submit_batch_jobs.py, backend_client.py) and python-socketio's AsyncClient
for live events (websocket_client.py). Each step prints one line; any
mismatch raises, and the script exits non-zero.

    /usr/bin/python3 compat/pyedb_client.py --url http://127.0.0.1:8080 \
        --project /path/board.aedt [--transport polling|websocket] [--hold 1.5]
"""

import argparse
import asyncio
import datetime
import os
import platform
import sys
import uuid

import aiohttp
import socketio


def hfss_config(project_path, jobid, num_cores):
    """An HFSSSimulationConfig as PyEDB's to_dict() serialises it."""
    return {
        "solver": "Hfss3DLayout",
        "ansys_edt_path": "/opt/AnsysEM/v252/Linux64/ansysedt",
        "jobid": jobid,
        "distributed": True,
        "machine_nodes": [{"hostname": "localhost", "cores": num_cores, "max_cores": num_cores, "utilization": 90}],
        "auto": True,
        "non_graphical": True,
        "monitor": True,
        "layout_options": {
            "create_starting_mesh": False,
            "default_process_priority": "Normal",
            "enable_gpu": False,
            "mpi_vendor": "Intel" if platform.system() == "Windows" else "OpenMPI",
            "mpi_version": "Default",
            "remote_spawn_command": "Scheduler",
            "solve_adaptive_only": False,
            "validate_only": False,
            "temp_directory": "/tmp",
        },
        "project_path": project_path,
        "design_name": "",
        "design_mode": "",
        "setup_name": "",
        "scheduler_type": "none",
        "scheduler_options": {
            "queue": "default",
            "time": "24:00:00",
            "nodes": 1,
            "tasks_per_node": 1,
            "cores_per_node": 0,
            "memory": "4GB",
            "account": None,
            "reservation": None,
            "qos": None,
            "constraints": None,
            "exclusive": False,
            "gpus": 0,
            "gpu_type": None,
            "priority": "Normal",
            "email_notification": None,
            "run_as_administrator": False,
        },
        "platform": platform.system(),
        "timestamp": datetime.datetime.now().isoformat(),
        "version": "1.0.0",
    }


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def step(msg):
    print(msg, flush=True)


class Events:
    """Socket.IO events received, by name, waited for with a timeout."""

    def __init__(self, sio, names, timeout):
        self.timeout = timeout
        self.queues = {n: asyncio.Queue() for n in names}
        for n in names:
            sio.on(n, self._handler(n))

    def _handler(self, name):
        async def handle(data):
            await self.queues[name].put(data)

        return handle

    async def expect(self, name, job_id=None, timeout=None):
        """The next `name` event (about job_id, when given)."""
        timeout = timeout or self.timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no {name} event for {job_id} within {timeout}s")
            data = await asyncio.wait_for(self.queues[name].get(), left)
            if job_id is None or data.get("job_id") == job_id:
                return data


async def main(args):
    base = args.url.rstrip("/")
    transports = [args.transport] if args.transport else None
    stem = os.path.splitext(os.path.basename(args.project))[0]

    sio = socketio.AsyncClient()
    events = Events(sio, ["job_queued", "job_started", "job_completed", "limits_updated", "priority_changed"], args.timeout)
    await sio.connect(base, transports=transports)
    want = args.transport or "websocket"  # the default is polling, then the upgrade
    check(sio.transport() == want, f"socket.io transport {sio.transport()}, want {want}")
    step(f"socket.io connected: sid {sio.sid}, transport {sio.transport()}")
    await sio.emit("client_connected", {"client_type": "pyedb_compat"})

    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def call(method, path, json=None, status=200):
            async with http.request(method, base + path, json=json) as resp:
                body = await resp.json(content_type=None)
                check(resp.status == status, f"{method} {path}: {resp.status} {body}, want {status}")
                return body

        st = await call("GET", "/system/status")
        check(st["mode"] == "local", f"mode {st['mode']}")
        for key in ("active_scheduler", "detected_by", "backend_available"):
            check(key in st["scheduler_detection"], f"scheduler_detection lacks {key}")
        for key in ("running_jobs", "queued_jobs", "max_concurrent"):
            check(key in st["local_pool"], f"local_pool lacks {key}")
        check("active" in st["resource_monitoring"], "resource_monitoring lacks active")
        step(f"GET /system/status: mode {st['mode']}, scheduler {st['scheduler_detection']['active_scheduler']}")

        if args.hold > 0:
            # Longer than several ping intervals: the server must ping, and
            # the client must stay connected.
            await asyncio.sleep(args.hold)
            check(sio.connected, "socket.io dropped while idle: no pings?")
            step(f"socket.io still connected after {args.hold}s idle")

        # The limits are kept across restarts: whatever happens below,
        # they are put back as they were.
        before = await call("GET", "/pool/limits")
        try:
            # Hold the queue: nothing starts while CPU use is above 1%.
            r = await call("PUT", "/pool/limits", json={"max_cpu_percent": 1})
            check(r["success"] and r["limits"]["max_cpu_percent"] == 1, f"PUT /pool/limits {r}")
            ev = await events.expect("limits_updated")
            check(ev["new_limits"]["max_cpu_percent"] == 1, f"limits_updated {ev}")
            step(f"PUT /pool/limits max_cpu_percent=1: {r['message']}; limits_updated event")

            # Submit as submit_local_job.py does (model_dump with the extras).
            first = f"{stem}_{uuid.uuid4().hex[:6]}"
            r = await call("POST", "/jobs/submit", json={"config": hfss_config(args.project, first, 8), "priority": 0})
            check(r["success"] and r["job_id"] == first, f"submit {r}")
            ev = await events.expect("job_queued", first)
            check(ev["priority"] == 0 and ev["queue_position"] >= 1, f"job_queued {ev}")
            step(f"POST /jobs/submit: {r['message']}; job_queued position {ev['queue_position']}")

            second = f"{stem}_{uuid.uuid4().hex[:6]}"
            r = await call("POST", "/api/submit", json={"config": hfss_config(args.project, second, 4), "priority": 0})
            check(r["success"] and r["job_id"] == second, f"api submit {r}")
            await events.expect("job_queued", second)
            step(f"POST /api/submit: {r['job_id']} queued")

            bad = hfss_config(args.project[:-5] + ".txt", "bad_1", 1)
            r = await call("POST", "/jobs/submit", json={"config": bad, "priority": 0}, status=400)
            check(r["success"] is False and "project_path" in r["error"], f"bad submit {r}")
            step(f"POST /jobs/submit (bad project): 400 {r['error']}")

            r = await call("POST", f"/jobs/{second}/priority", json={"priority": 5})
            check(r["success"], f"priority {r}")
            ev = await events.expect("priority_changed", second)
            q = await call("GET", "/queue")
            check(q["total_queued"] == 2 and q["priority_queues"] == {"5": 1} and q["regular_queue_size"] == 1, f"queue {q}")
            step(f"POST /jobs/{second}/priority 5: {r['message']}; /queue {q['priority_queues']}")

            r = await call("POST", f"/jobs/{first}/cancel")
            check(r["success"], f"cancel {r}")
            ev = await events.expect("job_completed", first)
            check(ev["status"] == "cancelled", f"job_completed for the cancelled job: {ev}")
            step(f"POST /jobs/{first}/cancel: {r['message']}; job_completed status {ev['status']}")

            jobs = await call("GET", "/jobs")
            by_id = {j["id"]: j for j in jobs}
            check(by_id[first]["status"] == "cancelled" and by_id[second]["status"] == "queued", f"statuses {by_id}")
            for key in ("id", "user", "config", "status", "start_time", "end_time", "return_code", "scheduler_job_id", "priority"):
                check(key in by_id[second], f"job record lacks {key}")
            check(by_id[second]["config"]["project_path"] == args.project, "config.project_path")
            step(f"GET /jobs: {len(jobs)} jobs; {first} cancelled, {second} queued")

            # Release the queue: the waiting job starts at once.
            r = await call("PUT", "/pool/limits", json={"max_cpu_percent": 80, "max_concurrent_jobs": 2})
            check(r["limits"]["max_concurrent_jobs"] == 2, f"limits {r}")
            started = await events.expect("job_started", second)
            done = await events.expect("job_completed", second)
            check(done["status"] == "completed" and done["return_code"] == 0, f"job_completed {done}")
            step(f"PUT /pool/limits max_cpu_percent=80: job_started at {started['start_time']}, job_completed {done['status']} rc {done['return_code']}")

            # Poll as backend_client.get_jobs does.
            jobs = await call("GET", "/api/jobs")
            rec = next(j for j in jobs if j["id"] == second)
            check(rec["status"] == "completed" and rec["return_code"] == 0 and rec["priority"] == 5, f"record {rec}")
            step(f"GET /api/jobs: {second} completed, return_code 0")

            r = await call("POST", f"/api/cancel/{second}")
            check(r["success"] is False, f"cancel of an ended job {r}")
            r = await call("POST", "/jobs/NOPE_1/cancel", status=404)
            check(r["success"] is False, f"cancel unknown {r}")
            step("POST /api/cancel of an ended job: success false; unknown job: 404")
        finally:
            restore = {k: before[k] for k in ("max_cpu_percent", "max_concurrent_jobs")}
            async with http.request("PUT", base + "/pool/limits", json=restore) as resp:
                step(f"PUT /pool/limits {restore}: limits put back ({resp.status})")

        res = await call("GET", "/resources")
        for key in ("cpu_percent", "memory_percent", "memory_used_gb", "memory_total_gb", "memory_free_gb",
                    "disk_usage_percent", "disk_free_gb", "timestamp"):
            check(key in res, f"/resources lacks {key}")
        check((await call("GET", "/api/scheduler_type"))["scheduler_type"] == "none", "scheduler_type")
        check((await call("GET", "/api/cluster_partitions")) == [], "cluster_partitions")
        check("username" in (await call("GET", "/api/me")), "/api/me")
        check("total_queued" in (await call("GET", "/api/queue")), "/api/queue")
        check("cpu_percent" in (await call("GET", "/api/resources")), "/api/resources")
        step("GET /resources, /api/resources, /api/queue, /api/scheduler_type, /api/cluster_partitions, /api/me: shapes as PyEDB reads them")

    await sio.disconnect()
    step("socket.io disconnected; all checks passed")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--project", required=True, help="an existing .aedt on the server's host")
    p.add_argument("--transport", choices=["polling", "websocket"], help="only this transport (default: polling, then the upgrade)")
    p.add_argument("--hold", type=float, default=0, help="stay idle this long to check server pings")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for an event or an answer (generous: a busy machine is slow)")
    try:
        asyncio.run(main(p.parse_args()))
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
