"""A CPU quota per process, for measuring scale-out as if each arena process had a
machine of its own (bench/load.py ``--arena-cpus``).

Each capped process gets a cgroup of its own with the kernel's CFS bandwidth limit:
cgroup v2's ``cpu.max`` ("quota period") where the unified hierarchy has the cpu
controller, else cgroup v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``. Needs root
(or a delegated cgroup); where neither hierarchy can be written, :class:`CpuCaps` says
so and why. Checked on cgroup v1 (this project's machine); the v2 branch follows the
kernel's documentation (Documentation/admin-guide/cgroup-v2.rst, "cpu.max") and is
not exercised here.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

__all__ = ["CpuCaps", "CpuCapError"]

PERIOD_US = 100_000  # the kernel's default CFS period


class CpuCapError(RuntimeError):
    """No cgroup can be written here, or the limit was refused."""


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(type, mount point, options) of every cgroup mount."""
    out = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            _, point, kind, options, *_ = line.split()
            if kind in ("cgroup", "cgroup2"):
                out.append((kind, point, set(options.split(","))))
    return out


def _root() -> tuple[str, Path]:
    """("v2" or "v1", the folder our groups go under)."""
    problems = []
    for kind, point, options in _mounts():
        base = Path(point)
        if kind == "cgroup2":
            controllers = (base / "cgroup.controllers").read_text().split()
            if "cpu" not in controllers:
                problems.append(f"{point}: cgroup v2 without the cpu controller")
                continue
            if os.access(base, os.W_OK):
                return "v2", base
            problems.append(f"{point}: not writable (run as root)")
        elif "cpu" in options:
            if os.access(base, os.W_OK):
                return "v1", base
            problems.append(f"{point}: not writable (run as root)")
    detail = "; ".join(problems) or "no cgroup mount with the cpu controller in /proc/mounts"
    raise CpuCapError(f"cannot cap a process's CPU here: {detail}")


class CpuCaps:
    """Cgroups that cap each process added at ``cores`` CPUs; removed on :meth:`close`."""

    def __init__(self, cores: float, tag: str = "arena-load") -> None:
        if cores <= 0:
            raise CpuCapError(f"--arena-cpus must be above 0, not {cores:g}")
        self.version, root = _root()
        self.quota = max(1000, round(cores * PERIOD_US))  # the kernel's minimum is 1 ms
        self.parent = root / f"{tag}-{os.getpid()}"
        self.parent.mkdir(exist_ok=True)
        if self.version == "v2":
            # A group's children get the cpu controller only when it is enabled in it.
            for folder in (root, self.parent):
                (folder / "cgroup.subtree_control").write_text("+cpu")
        self.groups: list[Path] = []

    def add(self, pid: int) -> None:
        """Move process ``pid`` into a group of its own, capped at ``cores``."""
        group = self.parent / f"p{len(self.groups)}"
        group.mkdir()
        self.groups.append(group)
        try:
            if self.version == "v2":
                (group / "cpu.max").write_text(f"{self.quota} {PERIOD_US}")
            else:
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(self.quota))
            (group / "cgroup.procs").write_text(str(pid))
        except OSError as exc:
            raise CpuCapError(f"the kernel refused the CPU cap in {group}: {exc}") from exc

    def throttled_s(self) -> float:
        """Seconds the groups' processes waited for their quota, all groups together."""
        total = 0.0
        for group in self.groups:
            with contextlib.suppress(OSError):
                stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
                if "throttled_usec" in stat:  # v2
                    total += int(stat["throttled_usec"]) / 1e6
                elif "throttled_time" in stat:  # v1, in nanoseconds
                    total += int(stat["throttled_time"]) / 1e9
        return total

    def close(self) -> None:
        """Remove the groups (their processes have exited; a group still holding one is
        retried for a few seconds, then left for the kernel's own cleanup)."""
        for folder in [*reversed(self.groups), self.parent]:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
