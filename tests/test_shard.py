"""--shard and --files-from: a run split over machines gives, merged, the whole run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asyncmend.codemods.source.discovery import in_shard, parse_shard, read_path_list

ROOT = Path(__file__).resolve().parent.parent
SLEEPY = "import time\n\nasync def f():\n    time.sleep({})\n"


def _check(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", "check", "--no-progress", "--no-cache",
         "--output-format", "json", *args],
        cwd=cwd, env=env, capture_output=True, text=True, input=stdin,
    )


def _project(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / "pkg" / f"sub{i % 3}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / f"sub{i % 3}" / f"m{i}.py").write_text(SLEEPY.format(i))
    (tmp_path / "pkg" / "bad.py").write_text("x = (\n")


def _key(finding: dict) -> tuple:
    return (finding["path"], finding["line"], finding["code"])


def test_every_path_is_in_exactly_one_shard() -> None:
    paths = [f"src/pkg{i}/mod{j}.py" for i in range(20) for j in range(10)]
    for count in (1, 2, 3, 7):
        owners = [[i for i in range(1, count + 1) if in_shard(p, i, count)] for p in paths]
        assert all(len(o) == 1 for o in owners)
    # Each shard of a large tree gets a fair share.
    sizes = [sum(in_shard(p, i, 4) for p in paths) for i in range(1, 5)]
    assert min(sizes) > len(paths) / 4 * 0.6


def test_shard_parsing() -> None:
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "1", "a/b", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_read_path_list_skips_blank_lines() -> None:
    assert read_path_list("a.py\n\n  b/c.py \r\n") == ["a.py", "b/c.py"]


def test_shards_merged_equal_the_whole_run(tmp_path: Path) -> None:
    _project(tmp_path)
    whole = _check(tmp_path, "pkg")
    findings = json.loads(whole.stdout)
    assert len(findings) == 12
    merged: list[dict] = []
    errors = []
    for i in (1, 2, 3):
        part = _check(tmp_path, "--shard", f"{i}/3", "pkg")
        merged += json.loads(part.stdout)
        errors += [line for line in part.stderr.splitlines() if "bad.py" in line]
    assert sorted(merged, key=_key) == sorted(findings, key=_key)
    assert len(errors) == 1  # the unparseable file is reported by one shard only


def test_bad_shard_is_a_usage_error(tmp_path: Path) -> None:
    result = _check(tmp_path, "--shard", "3/2", ".")
    assert result.returncode == 2 and "--shard" in result.stderr


def test_files_from_file_and_stdin(tmp_path: Path) -> None:
    _project(tmp_path)
    listing = "pkg/sub0/m0.py\npkg/sub1/m1.py\n"
    (tmp_path / "changed.txt").write_text(listing)
    from_file = _check(tmp_path, "--files-from", "changed.txt")
    from_stdin = _check(tmp_path, "--files-from", "-", stdin=listing)
    assert from_file.returncode == from_stdin.returncode == 1
    for result in (from_file, from_stdin):
        assert sorted(f["path"] for f in json.loads(result.stdout)) == ["pkg/sub0/m0.py", "pkg/sub1/m1.py"]


def test_empty_files_from_is_an_empty_run(tmp_path: Path) -> None:
    result = _check(tmp_path, "--files-from", "-", stdin="")
    assert result.returncode == 0 and json.loads(result.stdout) == []
