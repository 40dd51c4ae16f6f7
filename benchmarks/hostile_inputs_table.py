"""Every case of issue 23 ("hostile and unlucky inputs, round three") run through the CLI.

Run: ``python benchmarks/hostile_inputs_table.py [--skip-slow] [--only NAME,...]``

Each case is a fresh ``python -m reportgen`` process (``gate``, or ``audit --methods none``) on
a 200-row CSV cut from the bundled demo, with the bundled model, in a temporary folder. The
table gives, per case: the exit code, the one error line (cut to 120 characters), the child's
peak resident memory (``ru_maxrss`` from ``os.wait4`` on that child alone: the inputs are
made by another child, so that this process stays small and a fork inherits nothing) and its
wall time,
beside what the issue measured before the fix. ``--skip-slow`` leaves out the cases that run a
whole gate or audit (Ray, the split count, the file modes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HEADER = b"emotion,pixels,Usage\n"
TIMEOUT_S = 300


@dataclass(frozen=True)
class Case:
    name: str
    before: str  # as the issue measured it
    setup: Callable[[Path], tuple[list[str], dict[str, str]]]  # folder → (argv, extra env)
    slow: bool = False
    after: Callable[[Path], str] | None = None  # what to show instead of the error line


def _rows(n: int, usage: str = "PrivateTest") -> bytes:
    """``n`` real rows of the bundled demo (cycled), each with Usage ``usage``."""
    from reportgen.loading.data import load_dataset
    from reportgen.resources import sample_data

    demo = load_dataset(sample_data())
    lines = [f"{demo.labels[i % len(demo.labels)]},{' '.join(map(str, demo.images[i % len(demo.labels)].ravel()))},"
             f"{usage}\n".encode() for i in range(n)]
    return b"".join(lines)


def _csv(folder: Path, n: int = 200, usage: str = "PrivateTest", extra: bytes = b"") -> Path:
    path = folder / "fer2013.csv"
    path.write_bytes(HEADER + _rows(n, usage) + extra)
    return path


def _gate(folder: Path, *args: str, data: Path | None = None) -> list[str]:
    data = data or _csv(folder)
    return ["gate", "--quiet", "--data", str(data), "--out", str(folder / "out"), *args]


def _audit(folder: Path, *args: str, data: Path | None = None) -> list[str]:
    data = data or _csv(folder)
    return ["audit", "--quiet", "--methods", "none", "--formats", "json", "--data", str(data),
            "--out", str(folder / "out"), *args]


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "policy.toml")
    return folder / "policy.toml"


def _arrow() -> tuple[Any, Any, Any]:
    """numpy, pyarrow and pyarrow.parquet, imported by the setup child only."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    return np, pa, pq


def _tiny_rows(folder: Path, n: int) -> tuple[list[str], dict[str, str]]:
    path = folder / "fer2013.csv"
    path.write_bytes(HEADER + b"0,1,PrivateTest\n" * n)
    return _gate(folder, "--split", "PrivateTest", data=path), {}


def _null_parquet(folder: Path, n: int) -> tuple[list[str], dict[str, str]]:
    np, pa, pq = _arrow()
    path = folder / "nulls.parquet"
    pq.write_table(pa.table({"image": pa.nulls(n, pa.binary()), "label": pa.nulls(n, pa.int64()),
                             "usage": pa.array(np.full(n, "PrivateTest"))}), path,
                   compression="zstd", row_group_size=1 << 20)
    return _gate(folder, "--split", "PrivateTest", data=path), {}


def _many_usages(folder: Path) -> tuple[list[str], dict[str, str]]:
    np, pa, pq = _arrow()
    n = 3_000_000
    path = folder / "usages.parquet"
    pq.write_table(pa.table({"image": pa.nulls(n, pa.binary()), "label": pa.array(np.zeros(n, np.int64)),
                             "usage": pa.array(np.char.add("s", np.arange(n).astype(str)))}), path,
                   compression="zstd")
    return _gate(folder, "--split", "PrivateTest", data=path), {}


def _image_column(kind: str) -> Callable[[Path], tuple[list[str], dict[str, str]]]:
    def setup(folder: Path) -> tuple[list[str], dict[str, str]]:
        _, pa, pq = _arrow()
        types = {"list<string>": pa.list_(pa.string()), "list<list<int>>": pa.list_(pa.list_(pa.int64())),
                 "list<struct>": pa.list_(pa.struct([("v", pa.int64())])),
                 "list<timestamp>": pa.list_(pa.timestamp("s"))}
        path = folder / "odd.parquet"
        pq.write_table(pa.table({"image": pa.nulls(3, types[kind]), "label": pa.array([0, 1, 2])}), path)
        return _gate(folder, data=path), {}
    return setup


def _deep_policy(folder: Path) -> tuple[list[str], dict[str, str]]:
    policy = folder / "policy.toml"
    policy.write_text("x = " + "[" * 200_000 + "]" * 200_000 + "\n")
    return _gate(folder, "--policy", str(policy)), {}


def _spill(where: str) -> Callable[[Path], tuple[list[str], dict[str, str]]]:
    def setup(folder: Path) -> tuple[list[str], dict[str, str]]:
        spill = {"missing": folder / "nope", "a file": folder / "file", "read-only": folder / "tiny"}[where]
        if where == "a file":
            spill.write_text("")
        if where == "read-only":  # root ignores file modes: a read-only file system does not
            _mount(spill, "ro,size=1m")
        return _gate(folder), {"REPORTGEN_SPILL_DIR": str(spill), "REPORTGEN_SPILL_MB": "0"}
    return setup


def _mount(folder: Path, options: str) -> None:
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True, check=False)
    if done.returncode:
        raise RuntimeError("cannot mount a tmpfs here (needs root)")


def _full_disk(folder: Path) -> tuple[list[str], dict[str, str]]:
    _mount(folder / "tiny", "size=1m")
    data = _csv(folder, 1000)  # 2.3 MB of pixels: more than the 1 MiB disk
    return _gate(folder, data=data), {"REPORTGEN_SPILL_DIR": str(folder / "tiny"), "REPORTGEN_SPILL_MB": "0"}


def _unmount(folder: Path) -> None:
    if (folder / "tiny").is_mount():
        subprocess.run(["umount", str(folder / "tiny")], check=False)


def _shard(kind: str) -> Callable[[Path], tuple[list[str], dict[str, str]]]:
    def setup(folder: Path) -> tuple[list[str], dict[str, str]]:
        shards = folder / "shards"
        shards.mkdir()
        (shards / "a.csv").write_bytes(HEADER + _rows(200))
        bad = shards / "b.csv"
        target = {"device": Path("/dev/zero"), "dangling": folder / "gone.csv", "loop": bad}[kind]
        bad.symlink_to(target)
        return _gate(folder, data=shards), {}
    return setup


def _folders(folder: Path, special: str) -> tuple[list[str], dict[str, str]]:
    from PIL import Image

    from reportgen.loading.data import load_dataset
    from reportgen.loading.dataset import FER2013_CLASSES
    from reportgen.resources import sample_data

    demo = load_dataset(sample_data())
    root = folder / "faces"
    for i in range(200):
        label = FER2013_CLASSES[demo.labels[i]]
        (root / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(demo.images[i]).save(root / label / f"{i:04d}.png")
    if special == "class file":
        (root / "contempt").write_bytes(b"")  # not a class: ignored either way
        target = root / "surprise"
        for file in target.glob("*"):
            file.unlink()
        if target.is_dir():
            target.rmdir()
        target.write_bytes(b"not a folder")
    else:
        happy = root / "happy"
        (happy / "loop.png").symlink_to(happy / "loop.png")
        (happy / "zero.png").symlink_to("/dev/zero")
        os.mkfifo(happy / "pipe.png")
    return _gate(folder, data=root), {}


def _uint64_label(folder: Path) -> tuple[list[str], dict[str, str]]:
    _, pa, pq = _arrow()
    path = folder / "labels.parquet"
    pixels = " ".join(["0"] * 2304)
    pq.write_table(pa.table({"pixels": pa.array([pixels, pixels]),
                             "label": pa.array([2**64 - 1, 3], pa.uint64())}), path)
    return _gate(folder, data=path), {}


def _bracket_glob(folder: Path) -> tuple[list[str], dict[str, str]]:
    shards = folder / "run[1]"
    shards.mkdir()
    (shards / "part-0.csv").write_bytes(HEADER + _rows(200))
    return _gate(folder, data=shards / "part-*.csv"), {}


def _modes(folder: Path) -> str:
    found = sorted((folder / "out").glob("*"))
    return ", ".join(f"{p.name} {oct(p.stat().st_mode & 0o777)}" for p in found) or "no files"


def _many_splits(n_splits: int) -> Callable[[Path], tuple[list[str], dict[str, str]]]:
    def setup(folder: Path) -> tuple[list[str], dict[str, str]]:
        extra = b"".join(_rows(1, f"u{i}") for i in range(n_splits))
        data = _csv(folder, 200, "PublicTest", extra)
        return _audit(folder, "--split", "PublicTest", data=data), {}
    return setup


def _folder_split(folder: Path) -> tuple[list[str], dict[str, str]]:
    root = folder / "root"
    for split in ("PrivateTest", "Training"):
        (root / split / "happy").mkdir(parents=True)
    return _gate(folder, "--split", "Test", data=root), {}


API_MISSING_MODEL = ("import reportgen\nfrom reportgen.errors import InputError\n"
                     "try:\n    reportgen.audit('nope.keras')\n"
                     "except InputError as err:\n    print('reportgen: error:', err)\n    raise SystemExit(2)\n")


def _api(folder: Path) -> tuple[list[str], dict[str, str]]:
    return ["-c", API_MISSING_MODEL], {}


def _header(folder: Path) -> tuple[list[str], dict[str, str]]:
    path = folder / "fer2013.csv"
    path.write_bytes(b"label,pixels,Usage\n0,1,Training\n")
    return _gate(folder, data=path), {}


CASES = [
    Case("1 policy /dev/zero", "5.9 GB in 23 s, never refused",
         lambda f: (_gate(f, "--policy", "/dev/zero"), {})),
    Case("1 policy FIFO", "reads for ever", lambda f: (_gate(f, "--policy", str(_fifo(f))), {})),
    Case("2 CSV 16 MB of 0,1,PrivateTest", "3.46 GB peak, then exit 2", lambda f: _tiny_rows(f, 1_000_000)),
    Case("2 CSV 48 MB of 0,1,PrivateTest", "passed 5.9 GB", lambda f: _tiny_rows(f, 3_000_000)),
    Case("3 Parquet 20M null rows (zstd)", "4.77 GB peak", lambda f: _null_parquet(f, 20_000_000)),
    Case("4 --junit OUT/summary.json", "ran; unexpected IndexError; XML in summary.json",
         lambda f: (_gate(f, "--junit", str(f / "out" / "summary.json")), {})),
    Case("5 --ray-address 127.0.0.1:1", "hung > 200 s, 13 raw Ray log lines",
         lambda f: (_gate(f, "--ray-address", "127.0.0.1:1"), {})),
    Case("5 --ray-address 'garbage!!'", "unexpected ValueError after model loading",
         lambda f: (_gate(f, "--ray-address", "garbage!!"), {})),
    Case("5 --ray-address http://…", "unexpected ValueError after model loading",
         lambda f: (_gate(f, "--ray-address", "http://127.0.0.1:8265"), {})),
    Case("6 Parquet 3M distinct Usage values", "one 34.9 MB error line", _many_usages),
    Case("7 audit, 1 split (reference)", "—", _many_splits(0), slow=True),
    Case("7 audit, + 2,000 split values", "+16 s (one re-read per split)", _many_splits(2000),
         slow=True),
    Case("8 Parquet image list<string>", "unexpected TypeError", _image_column("list<string>")),
    Case("8 Parquet image list<list<int>>", "unexpected TypeError",
         _image_column("list<list<int>>")),
    Case("8 Parquet image list<struct>", "unexpected TypeError",
         _image_column("list<struct>")),
    Case("8 Parquet image list<timestamp>", "unexpected TypeError",
         _image_column("list<timestamp>")),
    Case("8 policy 200k-deep array", "unexpected RecursionError", _deep_policy),
    Case("8 REPORTGEN_SPILL_DIR missing", "unexpected FileNotFoundError after model loading",
         _spill("missing")),
    Case("8 REPORTGEN_SPILL_DIR a file", "unexpected NotADirectoryError after model loading",
         _spill("a file")),
    Case("8 REPORTGEN_SPILL_DIR read-only", "unexpected OSError after model loading",
         _spill("read-only")),
    Case("8 full disk while spilling", "unexpected OSError: [Errno 28], no path", _full_disk),
    Case("9 --executor ray --quiet", "raw core_worker.cc line on stderr",
         lambda f: (_gate(f, "--executor", "ray"), {}), slow=True),
    Case("10 shard -> /dev/zero", "dropped without a word", _shard("device")),
    Case("10 shard dangling link", "dropped without a word", _shard("dangling")),
    Case("10 shard link loop", "dropped without a word", _shard("loop")),
    Case("10 class entry is a file", "dropped without a word", lambda f: _folders(f, "class file")),
    Case("10 images: loop, FIFO, device", "dropped without a word", lambda f: _folders(f, "special")),
    Case("11 uint64 label 2^64-1", "reported as 'emotion -1'", _uint64_label),
    Case("small: '[' in a glob folder + modes", "no match, no hint; files 0600", _bracket_glob,
         slow=True, after=_modes),
    Case("new: --methods lime,gradcm", "40 s to error",
         lambda f: (_audit(f, "--methods", "lime,gradcm"), {})),
    Case("new: folder --split Test", "45 s to error; lists 'privatetest'", _folder_split),
    Case("new: CSV --split privatetst", "41 s to error (privatetest)",
         lambda f: (_gate(f, "--split", "privatetst"), {})),
    Case("new: API, missing model path", "68 s to error", _api),
    Case("new: CSV header error", "found b'label,pixels,Usage'", _header),
]


def _setup_in_child(case: Case, folder: Path) -> tuple[list[str], dict[str, str]]:
    """Run ``case.setup`` in another process: building a 20M-row table here would make this
    process large, and every child forked from it would start with that memory counted."""
    done = subprocess.run([sys.executable, __file__, "--setup", case.name, str(folder)],
                          capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "setup failed")
    made = json.loads(done.stdout.strip().splitlines()[-1])
    return made["argv"], made["env"]


def run_case(case: Case) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="hostile-") as name:
        folder = Path(name)
        try:
            argv, env = _setup_in_child(case, folder)
        except RuntimeError as err:
            _unmount(folder)
            return {"case": case.name, "before": case.before, "exit": "-", "line": f"skipped: {err}",
                    "rss": "-", "seconds": "-"}
        command = [sys.executable, *argv] if argv[0] == "-c" else [sys.executable, "-m", "reportgen", *argv]
        env = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0", **env}
        start = time.perf_counter()
        with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
            child = subprocess.Popen(command, stdout=out, stderr=err, cwd=folder, env=env)
            deadline = start + TIMEOUT_S
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    child.kill()
                    pid, status, usage = os.wait4(child.pid, 0)
                    break
                time.sleep(0.02)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr = (folder / "stderr").read_text(errors="replace").splitlines()
        stdout = (folder / "stdout").read_text(errors="replace").splitlines()
        errors = [line for line in stderr + stdout if line.startswith("reportgen: error")]
        line = errors[0] if errors else (stdout[-1] if stdout else "")
        if case.after is not None:
            line = case.after(folder)
        if case.name.startswith("9 "):
            stray = [s for s in stderr if s.strip() and not s.startswith("reportgen: ")]
            line = f"{len(stray)} stray stderr lines; stdout: {stdout[-1] if stdout else ''}"
        _unmount(folder)
        return {"case": case.name, "before": case.before, "exit": child.returncode,
                "line": line if len(line) <= 120 else line[:119] + "…",
                "rss": f"{usage.ru_maxrss / 1024:,.0f} MB", "seconds": f"{seconds:.1f}",
                "error_len": len(errors[0]) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated substrings of case names")
    parser.add_argument("--setup", nargs=2, metavar=("CASE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:  # the child that makes one case's inputs
        case = next(c for c in CASES if c.name == args.setup[0])
        argv, env = case.setup(Path(args.setup[1]))
        print(json.dumps({"argv": argv, "env": env}))
        return
    wanted = [w for w in args.only.split(",") if w]
    cases = [c for c in CASES if (not args.skip_slow or not c.slow)
             and (not wanted or any(w in c.name for w in wanted))]
    print("| case | before (issue 23) | exit | error line (after) | peak RSS | seconds |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        row = run_case(case)
        line = str(row["line"]).replace("|", "\\|")
        if row.get("error_len", 0) > 120:
            line += f" ({row['error_len']:,} chars)"
        print(f"| {row['case']} | {row['before']} | {row['exit']} | {line} | {row['rss']} | "
              f"{row['seconds']} |", flush=True)


if __name__ == "__main__":
    main()
