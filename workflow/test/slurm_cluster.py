"""A one-node Slurm for tests and benchmarks, started as root with everything under one folder: its own munged
(own socket), slurmctld and slurmd on free ports with a generated slurm.conf (SLURM_CONF points at it, /etc is
not touched), state, spool, logs and pid files. A watchdog process stops the daemons when the process that
started them ends, however it ends; `stop` ends them by their pid files and ends the processes of jobs still
running from this folder.

    python3 slurm_cluster.py start DIR     (prints the environment to use: SLURM_CONF=...)
    python3 slurm_cluster.py stop DIR
"""
import os
import signal
import socket
import subprocess
import sys
import time

DAEMONS = ("slurmd", "slurmctld", "munged")  # stopped in this order


def free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def slurm_conf(folder, host, cpus, memory_mb):
    return f"""ClusterName=kmeanstest
SlurmctldHost={host}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
SchedulerParameters=sched_interval=1
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={host} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def environment(folder):
    return {"SLURM_CONF": os.path.join(folder, "slurm.conf")}


def read_pid(folder, daemon):
    try:
        with open(os.path.join(folder, f"{daemon}.pid")) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid):
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def end_process(pid, grace=10.0):
    if not pid or not alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.time() + grace
    while time.time() < deadline and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def job_processes(folder):
    """Processes still running with this cluster's SLURM_CONF in their environment (job steps left behind)."""
    marker = f"SLURM_CONF={os.path.join(folder, 'slurm.conf')}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if marker in handle.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                pass
    return found


def stop(folder):
    """Cancels the jobs, stops the daemons by their pid files and ends leftover job processes of this folder."""
    env = dict(os.environ, **environment(folder))
    if read_pid(folder, "slurmctld") and alive(read_pid(folder, "slurmctld")):
        subprocess.run(["scancel", "--partition=test"], env=env, capture_output=True, timeout=30)
    for daemon in DAEMONS:
        end_process(read_pid(folder, daemon))
    for pid in job_processes(folder):
        end_process(pid, grace=2.0)
    watchdog = read_pid(folder, "watchdog")
    if watchdog and watchdog != os.getpid():
        end_process(watchdog, grace=1.0)
    for daemon in DAEMONS + ("watchdog",):
        try:
            os.remove(os.path.join(folder, f"{daemon}.pid"))
        except OSError:
            pass


def start_watchdog(folder, owner_pid):
    """A detached process that runs `stop` once owner_pid has ended (the test's own trap, even on SIGKILL)."""
    code = (f"import os,sys,time; sys.path.insert(0,{os.path.dirname(os.path.abspath(__file__))!r}); "
            f"import slurm_cluster as c\nwhile c.alive({owner_pid}): time.sleep(1)\nc.stop({folder!r})")
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(folder, "watchdog.pid"), "w") as handle:
        handle.write(f"{process.pid}\n")


def wait_idle(env, timeout=90):
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        result = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
        state = result.stdout.strip()
        if state in ("idle", "mix", "alloc"):
            return
        time.sleep(1)
    raise RuntimeError(f"the Slurm node did not become idle within {timeout} s (sinfo: '{state}')")


def start(folder, owner_pid=None):
    """Starts munged, slurmctld and slurmd; returns the environment variables to use the cluster."""
    folder = os.path.abspath(folder)
    stop(folder)
    for sub in ("state", "spool"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    os.chmod(folder, 0o755)
    host = socket.gethostname().split(".")[0]
    memory_mb = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 20 * 0.5)
    with open(os.path.join(folder, "slurm.conf"), "w") as handle:
        handle.write(slurm_conf(folder, host, os.cpu_count(), memory_mb))
    start_watchdog(folder, owner_pid or os.getpid())
    env = dict(os.environ, **environment(folder))
    key = os.path.join(folder, "munge.key")
    if not os.path.isfile(key):
        subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True)
    subprocess.run(["munged", "--force", f"--key-file={key}", f"--socket={folder}/munge.socket", f"--pid-file={folder}/munged.pid",
                    f"--log-file={folder}/munged.log", f"--seed-file={folder}/munged.seed"], check=True, env=env)
    subprocess.run(["slurmctld", "-i"], check=True, env=env)
    subprocess.run(["slurmd"], check=True, env=env)
    wait_idle(env)
    return environment(folder)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(__doc__)
    if sys.argv[1] == "start":
        for key, value in start(sys.argv[2], owner_pid=os.getppid()).items():
            print(f"{key}={value}")
    else:
        stop(sys.argv[2])
