"""A throw-away PostgreSQL server for tests and benchmarks, driven through the `psql` client.

Debian's `postgresql` package puts the server in /usr/lib/postgresql/<version>/bin. PostgreSQL
refuses to run as root, so when we are root the server runs as the `postgres` OS user, in a
folder it owns. It listens on a unix socket in that folder only (no TCP port), and `psql` talks
to it with CSV output, so no Python driver is needed.
"""

import csv
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

_BIN_ROOT = Path("/usr/lib/postgresql")


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None when there is none."""
    found = sorted((p.parent for p in _BIN_ROOT.glob("*/bin/pg_ctl")), key=lambda p: int(p.parent.name)
                   if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


class Server:
    """A cluster in a new temp folder (UTF-8, locale C.UTF-8; create other databases as needed),
    started at once; `stop()` stops it and removes the folder."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="icp-postgres-"))
        self.data = self.root / "data"
        self.socket = self.root
        self.user = "postgres" if os.geteuid() == 0 else None
        try:
            if self.user:
                shutil.chown(self.root, self.user)
            os.chmod(self.root, 0o700)
            self._run(self.bin / "initdb", "-D", self.data, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                      "--auth=trust", "--no-sync")
            # Durability is of no use to a server thrown away after the run.
            settings = ["-c", "listen_addresses=", "-k", str(self.socket), "-c", "fsync=off",
                        "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
            self._run(self.bin / "pg_ctl", "-D", self.data, "-w", "-s", "-l", self.root / "server.log",
                      "-o", " ".join(settings), "start")
        except BaseException:
            self.stop()
            raise

    def _run(self, *args, input: str | None = None) -> str:
        command = [str(a) for a in args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        # Bytes, decoded here: text mode would turn a carriage return inside a value into a newline.
        done = subprocess.run(command, input=None if input is None else input.encode(), capture_output=True,
                              cwd=self.root)
        out, err = done.stdout.decode(), done.stderr.decode(errors="replace")
        if done.returncode != 0:
            raise RuntimeError(f"{Path(str(args[0])).name} failed: {err.strip() or out.strip()}")
        return out

    def psql(self, script: str, database: str = "postgres") -> str:
        """Run `script` (SQL and psql meta-commands) in one session; stop at the first error."""
        return self._run(self.bin / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket, "-U",
                         "postgres", "-d", database, "-f", "-", input=script)

    def query(self, sql: str, database: str = "postgres") -> list[dict[str, str]]:
        """The rows of one query (a trailing `;` is allowed), read back from CSV: NULL is ''."""
        body = sql.rstrip().removesuffix(";")
        out = self.psql(f"COPY (\n{body}\n) TO STDOUT WITH (FORMAT csv, HEADER);\n", database)
        return list(csv.DictReader(io.StringIO(out, newline="")))

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(self.bin / "pg_ctl", "-D", self.data, "-w", "-s", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
