"""A throwaway Celery cluster on 127.0.0.1 for tests and benchmarks: redis-server (the broker and result
backend), PostgreSQL (the Dagster instance's storage, shared by the CLI and the workers) behind PgBouncer, and
N `dagster-celery` workers. Everything runs from Debian's packages (installed with apt-get when missing and running as root) and
is stopped by process id when the context exits.

    with cluster(tmp, workers=2) as c:
        subprocess.run(["newsdag", "materialize", ...], env=c.env, check=True)
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_USER = "postgres"  # the database superuser initdb creates (trust auth on 127.0.0.1, no password)
PG_DB = "dagster"
STOP_TIMEOUT = 30.0


@dataclass
class Cluster:
    env: dict[str, str]  # for `newsdag materialize` against this cluster (DAGSTER_HOME, NEWSDAG_EXECUTOR=celery, ...)
    home: Path  # DAGSTER_HOME; its dagster.yaml points the instance at the PostgreSQL below
    logs: list[Path]  # one log file per Celery worker, in order
    pids: list[int] = field(default_factory=list)  # every process started (redis, postgres, workers)
    postgres_url: str = ""  # postgresql://postgres@127.0.0.1:PORT/dagster (the server itself)
    pgbouncer_url: str = ""  # the same database through PgBouncer: what the instance (dagster.yaml) uses


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _apt_install(package: str) -> None:
    """Debian's `package`, when we may install it (root with apt-get; CI machines are fresh)."""
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(f"apt-get update -qq && apt-get install -y -qq {package} >/dev/null", shell=True, env=env)


def _debian_command(name: str, package: str) -> str:
    """The path of command `name` from Debian's `package` (on PATH or in /usr/sbin, which a non-root PATH may
    lack), the package installed when it is missing."""
    search = f"{os.environ.get('PATH', '')}{os.pathsep}/usr/sbin"
    if shutil.which(name, path=search) is None:
        _apt_install(package)
    found = shutil.which(name, path=search)
    if found is None:
        raise RuntimeError(f"{name} not found and could not be installed: apt-get install {package}")
    return found


def redis_server() -> str:
    """redis-server from Debian's package, installed when missing."""
    return _debian_command("redis-server", "redis-server")


def postgres_bindir() -> Path:
    """The bin directory of Debian's PostgreSQL (/usr/lib/postgresql/<ver>/bin, newest version), installed
    when missing."""
    def find() -> list[Path]:
        found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/postgres")]
        return sorted(found, key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name.split(".")])
    if not find():
        _apt_install("postgresql")
    found = find()
    if not found or not (found[-1] / "initdb").exists():
        raise RuntimeError("PostgreSQL (/usr/lib/postgresql/*/bin/postgres) not found and could not be installed: "
                           "apt-get install postgresql")
    return found[-1]


def pgbouncer_bin() -> str:
    """pgbouncer from Debian's package, installed when missing."""
    return _debian_command("pgbouncer", "pgbouncer")


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _wait(predicate: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {seconds:.0f}s waiting for {what}")
        time.sleep(0.3)


def _group_members(pgid: int) -> list[int]:
    """The live processes in process group `pgid` (from /proc)."""
    members = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp ...
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.split("/")[2]))
    return members


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> None:
    """Stop a process we started in its own session, and everything it started there, by process id: `sig`
    (to the leader when it is SIGINT, PostgreSQL's fast shutdown; else to the group), SIGKILL after `timeout`."""
    pgid = proc.pid
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if sig == signal.SIGINT:
                os.kill(proc.pid, sig)
            else:
                os.killpg(pgid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            proc.wait()
    # what the leader left behind in its group (e.g. a worker's pool processes): a little time, then SIGKILL
    deadline = time.monotonic() + 5
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_members(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def _as_postgres_user() -> dict:
    """Popen arguments that run PostgreSQL as the `postgres` system user when we are root (it refuses to run
    as root); none otherwise."""
    if os.geteuid() != 0:
        return {}
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no `postgres` system user to run PostgreSQL as "
                           "(apt-get install postgresql creates it)") from None
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _wait_accepting(proc: subprocess.Popen, name: str, port: int, dbname: str, log: Path) -> None:
    """Wait until `proc` (postgres or pgbouncer) accepts connections to `dbname` on 127.0.0.1:port; a
    RuntimeError with its log's last line if it exits first."""
    import psycopg2  # dagster-postgres's driver

    def accepting() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see {log}: {_last_line(log)}")
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user=PG_USER, dbname=dbname, connect_timeout=2).close()
            return True
        except psycopg2.OperationalError:
            return False
    _wait(accepting, f"{name} on 127.0.0.1:{port}", seconds=60)


def _start_postgres(bindir: Path, pgdir: Path, port: int, log: Path, started: list[subprocess.Popen],
                    files: contextlib.ExitStack) -> str:
    """initdb a fresh cluster in pgdir/data, start it on 127.0.0.1:port, create database `dagster`; the URL."""
    as_user = _as_postgres_user()
    pgdir.chmod(0o755)  # mkdtemp makes it 0700
    sock = pgdir / "sock"
    sock.mkdir()
    if as_user:
        for d in (pgdir, sock):
            os.chown(d, as_user["user"], as_user["group"])
    data = pgdir / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    with open(log, "w") as out:
        init = subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
                               "--locale=C", "--no-sync"], cwd=pgdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                              **as_user)
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed with {init.returncode}; see {log}: {_last_line(log)}")
    proc = subprocess.Popen([str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                             "-k", str(sock)], cwd=pgdir, env=env, stdout=files.enter_context(open(log, "a")),
                            stderr=subprocess.STDOUT, start_new_session=True, **as_user)
    started.append(proc)

    import psycopg2  # dagster-postgres's driver
    import psycopg2.sql

    _wait_accepting(proc, "postgres", port, "postgres", log)
    con = psycopg2.connect(host="127.0.0.1", port=port, user=PG_USER, dbname="postgres")
    try:
        con.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with con.cursor() as cur:
            cur.execute(psycopg2.sql.SQL("CREATE DATABASE {}").format(psycopg2.sql.Identifier(PG_DB)))
    finally:
        con.close()
    return f"postgresql://{PG_USER}@127.0.0.1:{port}/{PG_DB}"


def _start_pgbouncer(binary: str, pgdir: Path, pg_port: int, port: int, log: Path,
                     started: list[subprocess.Popen], files: contextlib.ExitStack) -> str:
    """PgBouncer on 127.0.0.1:port in front of the PostgreSQL on pg_port (session pooling); its URL.

    dagster-postgres opens a new connection for every statement (SQLAlchemy's NullPool) and PostgreSQL forks a
    backend process for each connection: a few thousand per build. PgBouncer keeps a few server connections
    open and hands them to those short client connections."""
    as_user = _as_postgres_user()
    ini, users = pgdir / "pgbouncer.ini", pgdir / "pgbouncer.users"
    users.write_text(f'"{PG_USER}" ""\n')
    ini.write_text(
        "[databases]\n"
        f"{PG_DB} = host=127.0.0.1 port={pg_port} dbname={PG_DB} user={PG_USER}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {users}\n"
        # session pooling: a client connection has one server connection to itself until it closes; the
        # server connections outlive the clients
        "pool_mode = session\nmax_client_conn = 1000\ndefault_pool_size = 40\n"
        "log_connections = 0\nlog_disconnections = 0\n")
    for f in (ini, users):
        f.chmod(0o644)
    proc = subprocess.Popen([binary, str(ini)], cwd=pgdir, stdout=files.enter_context(open(log, "w")),
                            stderr=subprocess.STDOUT, start_new_session=True, **as_user)
    started.append(proc)

    _wait_accepting(proc, "pgbouncer", port, PG_DB, log)
    return f"postgresql://{PG_USER}@127.0.0.1:{port}/{PG_DB}"


def _dagster_yaml(port: int) -> str:
    """The repo's dagster.yaml (logs, telemetry, concurrency pools) with the instance's storage in PostgreSQL,
    reached on 127.0.0.1:port (PgBouncer's)."""
    base = (ROOT / "dagster.yaml").read_text()
    return (base.rstrip("\n") + "\n"
            "# run, event log and schedule storage in the cluster's PostgreSQL, through PgBouncer (bench/cluster.py)\n"
            "storage:\n"
            "  postgres:\n"
            "    postgres_db:\n"
            f"      username: {PG_USER}\n"
            "      password: ''\n"
            "      hostname: 127.0.0.1\n"
            f"      port: {port}\n"
            f"      db_name: {PG_DB}\n"
            # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; dagster-postgres installs psycopg2
            "      scheme: postgresql+psycopg2\n"
            # a worker host's local files are out of the UI's reach: steps log through the event log
            "compute_logs:\n"
            "  module: dagster._core.storage.noop_compute_log_manager\n"
            "  class: NoOpComputeLogManager\n")


@contextlib.contextmanager
def cluster(tmp: Path, *, workers: int = 2, concurrency: int = 1, pin_cpus: bool = False,
            extra_env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """Start redis-server, PostgreSQL behind PgBouncer and `workers` Celery workers (each `--concurrency=concurrency`; with
    `pin_cpus`, worker i and its children on CPU i % cpu_count) on 127.0.0.1, with their logs and the Dagster
    home under `tmp`; stop them all on exit. Raises RuntimeError with a one-line reason when something fails."""
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    ports: list[int] = []
    while len(ports) < 3:  # redis, PostgreSQL, PgBouncer
        port = free_port()
        if port not in ports:
            ports.append(port)
    redis_port, pg_port, bouncer_port = ports
    broker = f"redis://127.0.0.1:{redis_port}/0"
    home = tmp / "dagster_home"
    home.mkdir(exist_ok=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NEWSDAG_")},
           "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "NEWSDAG_EXECUTOR": "celery", "NEWSDAG_CELERY_BROKER": broker, **(extra_env or {})}
    config = tmp / "celery.yaml"
    config.write_text(f"execution:\n  config:\n    broker: '{broker}'\n    backend: '{broker}'\n")
    started: list[subprocess.Popen] = []
    files = contextlib.ExitStack()  # the processes' log files, closed when they have stopped
    pgdir: Path | None = None
    try:
        redis_bin, pg_bin, bouncer_bin = redis_server(), postgres_bindir(), pgbouncer_bin()
        started.append(subprocess.Popen(
            [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=files.enter_context(open(tmp / "redis.log", "w")), stderr=subprocess.STDOUT,
            start_new_session=True))

        def redis_up() -> bool:
            if started[0].poll() is not None:
                raise RuntimeError(f"redis-server exited with {started[0].returncode}; see {tmp / 'redis.log'}: "
                                   f"{_last_line(tmp / 'redis.log')}")
            return _port_open(redis_port)
        _wait(redis_up, f"redis-server on 127.0.0.1:{redis_port}")

        # outside `tmp`: pytest's tmp dirs sit under a 0700 directory the postgres user cannot traverse
        pgdir = Path(tempfile.mkdtemp(prefix="newsdag-pg-"))
        postgres_url = _start_postgres(pg_bin, pgdir, pg_port, tmp / "postgres.log", started, files)
        pgbouncer_url = _start_pgbouncer(bouncer_bin, pgdir, pg_port, bouncer_port, tmp / "pgbouncer.log",
                                         started, files)

        (home / "dagster.yaml").write_text(_dagster_yaml(bouncer_port))
        # create the instance's schema once, before several processes would race to create it
        init = subprocess.run([sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get()"],
                              env=env, capture_output=True, text=True)
        if init.returncode != 0:
            last = (init.stderr.strip().splitlines() or ["?"])[-1]
            raise RuntimeError(f"creating the Dagster instance in PostgreSQL failed: {last}")

        logs: list[Path] = []
        worker_procs: list[subprocess.Popen] = []
        cpus = os.cpu_count() or 1
        for i in range(1, workers + 1):
            log = tmp / f"worker{i}.log"
            logs.append(log)
            pin = None
            if pin_cpus:
                cpu = (i - 1) % cpus
                def pin(cpu: int = cpu) -> None:  # inherited by the worker's pool processes
                    os.sched_setaffinity(0, {cpu})
            proc = subprocess.Popen(
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "assets.worker", "-y", str(config),
                 "-n", f"newsdag-w{i}@%h", "-l", "INFO", "--", f"--concurrency={concurrency}"],
                cwd=ROOT, env=env, stdout=files.enter_context(open(log, "w")), stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=pin)
            started.append(proc)
            worker_procs.append(proc)

        def workers_ready() -> bool:
            for i, (proc, log) in enumerate(zip(worker_procs, logs), start=1):
                if proc.poll() is not None:
                    raise RuntimeError(f"Celery worker {i} exited with {proc.returncode}; see {log}: "
                                       f"{_last_line(log)}")
            return all("ready" in log.read_text(errors="replace") for log in logs)
        _wait(workers_ready, f"{workers} Celery workers", seconds=180)

        yield Cluster(env=env, home=home, logs=logs, pids=[p.pid for p in started], postgres_url=postgres_url,
                      pgbouncer_url=pgbouncer_url)
    finally:
        for proc in reversed(started):
            is_postgres = proc.args[0].endswith("/postgres")
            _stop(proc, signal.SIGINT if is_postgres else signal.SIGTERM)
        files.close()
        if pgdir is not None:
            shutil.rmtree(pgdir, ignore_errors=True)
