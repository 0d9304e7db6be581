"""Trees that try to break the run: each file is processed, skipped or
reported by name; never a traceback, never a hang.

Every case runs the real command line in a subprocess with a timeout, so a
hang fails the test instead of stopping the suite.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

from asyncmend import codemods
from asyncmend.codemods import Options, Settings, check_paths

ROOT = Path(__file__).resolve().parent.parent
SLEEPY = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n"


def _cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", *args],
        cwd=cwd, capture_output=True, text=True, errors="surrogateescape", timeout=timeout,
        env=dict(os.environ), stdin=subprocess.DEVNULL,
    )


def _no_traceback(run: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode in (0, 1, 2), (run.returncode, run.stderr[-3000:])


def test_symlink_loops_are_skipped_while_walking(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "real.py").write_text(SLEEPY)
    (tree / "again").symlink_to(tree)  # a directory loop
    (tree / "a.py").symlink_to("b.py")  # a file loop
    (tree / "b.py").symlink_to("a.py")
    run = _cli("fix", "tree", cwd=tmp_path)
    _no_traceback(run)
    assert run.returncode == 0
    assert (tree / "real.py").read_text() == FIXED
    assert (tree / "a.py").is_symlink() and (tree / "b.py").is_symlink()


def test_a_named_symlink_loop_is_reported_by_name(tmp_path: Path) -> None:
    (tmp_path / "a.py").symlink_to("b.py")
    (tmp_path / "b.py").symlink_to("a.py")
    (tmp_path / "ok.py").write_text(SLEEPY)
    run = _cli("check", "a.py", "ok.py", cwd=tmp_path)
    _no_traceback(run)
    assert run.returncode == 2
    assert "a.py" in run.stderr and "symbolic link" in run.stderr
    assert "ok.py:5:5: AM101" in run.stdout


def test_a_symlink_out_of_the_tree_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "theirs.py").write_text(SLEEPY)
    (tmp_path / "tree" / "link.py").symlink_to(tmp_path / "outside" / "theirs.py")
    (tmp_path / "tree" / "linkdir").symlink_to(tmp_path / "outside")
    (tmp_path / "tree" / "mine.py").write_text(SLEEPY)
    run = _cli("fix", "tree", cwd=tmp_path)
    _no_traceback(run)
    assert (tmp_path / "tree" / "mine.py").read_text() == FIXED
    assert (tmp_path / "outside" / "theirs.py").read_text() == SLEEPY
    assert (tmp_path / "tree" / "link.py").is_symlink()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_named_fifo_is_reported_not_read_forever(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "ok.py").write_text(SLEEPY)
    run = _cli("check", "pipe.py", "ok.py", cwd=tmp_path, timeout=60)
    _no_traceback(run)
    assert run.returncode == 2
    assert "pipe.py" in run.stderr and "not a regular file" in run.stderr
    assert "ok.py:5:5: AM101" in run.stdout
    # While walking, a FIFO is not a file to read either.
    walked = _cli("check", ".", cwd=tmp_path, timeout=60)
    _no_traceback(walked)
    assert walked.returncode == 1 and "pipe.py" not in walked.stdout + walked.stderr


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="no /proc/self/mem")
def test_a_file_that_fails_to_read_is_reported_by_name(tmp_path: Path) -> None:
    # /proc/self/mem is a regular file whose read fails with EIO, even for root.
    (tmp_path / "ok.py").write_text(SLEEPY)
    run = _cli("check", "/proc/self/mem", "ok.py", cwd=tmp_path)
    _no_traceback(run)
    assert run.returncode == 2
    assert "/proc/self/mem" in run.stderr and "cannot read" in run.stderr
    assert "ok.py:5:5: AM101" in run.stdout


def _without_root_file_access() -> None:
    """In the child, before exec: drop the two capabilities that let root
    read any file and search any directory (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH) from the bounding set, so that the CLI, still
    root, meets permission bits as any user does. CI runs as root."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _unprivileged_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a user the permission bits apply to."""
    preexec = _without_root_file_access if os.geteuid() == 0 else None
    return subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", *args],
        cwd=cwd, capture_output=True, text=True, errors="surrogateescape", timeout=120,
        env=dict(os.environ), stdin=subprocess.DEVNULL, preexec_fn=preexec,
    )


@pytest.fixture
def locked_tree(tmp_path: Path) -> Iterator[Path]:
    """An unreadable file, an unreadable directory, a read-only directory
    holding a file to fix, and a good file; skipped where this process
    cannot make its child meet the permission bits."""
    if os.name != "posix" or not sys.platform.startswith("linux") and os.geteuid() == 0:
        pytest.skip("needs POSIX permissions, and Linux capabilities when run as root")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inside.py").write_text(SLEEPY)
    (tmp_path / "readonly").mkdir()
    (tmp_path / "readonly" / "frozen.py").write_text(SLEEPY)
    (tmp_path / "secret.py").write_text(SLEEPY)
    (tmp_path / "ok.py").write_text(SLEEPY)
    (tmp_path / "secret.py").chmod(0)
    (tmp_path / "locked").chmod(0)
    (tmp_path / "readonly").chmod(0o555)
    try:
        preexec = _without_root_file_access if os.geteuid() == 0 else None
        try:
            probe = subprocess.run(
                [sys.executable, "-c", "open('secret.py', 'rb')"], cwd=tmp_path,
                capture_output=True, text=True, timeout=60, preexec_fn=preexec,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"cannot drop root's file access here: {exc}")
        if "PermissionError" not in probe.stderr:
            pytest.skip("this process's children read a chmod 000 file anyway")
        yield tmp_path
    finally:
        (tmp_path / "locked").chmod(0o755)
        (tmp_path / "readonly").chmod(0o755)
        (tmp_path / "secret.py").chmod(0o644)


def test_unreadable_files_and_directories_are_reported_by_name(locked_tree: Path) -> None:
    run = _unprivileged_cli("check", "--no-progress", ".", cwd=locked_tree)
    _no_traceback(run)
    assert run.returncode == 2
    assert sorted(run.stderr.splitlines()) == [
        "locked: error: cannot read directory: Permission denied",
        "secret.py: error: cannot read: Permission denied",
    ]
    assert "ok.py:5:5: AM101" in run.stdout and "readonly/frozen.py:5:5: AM101" in run.stdout


def test_unreadable_paths_named_on_the_command_line_stop_no_other_file(locked_tree: Path) -> None:
    run = _unprivileged_cli(
        "check", "--no-progress", "secret.py", "locked", "locked/inside.py", "ok.py", cwd=locked_tree
    )
    _no_traceback(run)
    assert run.returncode == 2
    assert sorted(run.stderr.splitlines()) == [
        "locked/inside.py: error: cannot read: Permission denied",  # cannot even stat it
        "locked: error: cannot read directory: Permission denied",
        "secret.py: error: cannot read: Permission denied",
    ]
    assert "ok.py:5:5: AM101" in run.stdout


def test_fix_in_a_tree_it_can_partly_neither_read_nor_write(locked_tree: Path) -> None:
    run = _unprivileged_cli("fix", "--no-progress", "-j", "2", ".", cwd=locked_tree)
    _no_traceback(run)
    assert run.returncode == 2
    assert sorted(run.stderr.splitlines()) == [
        "locked: error: cannot read directory: Permission denied",
        "readonly/frozen.py: error: cannot write: Permission denied",
        "secret.py: error: cannot read: Permission denied",
    ]
    assert (locked_tree / "ok.py").read_text() == FIXED
    assert (locked_tree / "readonly" / "frozen.py").read_text() == SLEEPY
    assert os.listdir(locked_tree / "readonly") == ["frozen.py"]


def test_unreadable_files_and_directories_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same as above where the tests run as root, who can read anything:
    the permission errors are raised by stand-ins for ``os.scandir`` and
    ``Path.read_bytes`` on exactly the locked paths."""
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inside.py").write_text(SLEEPY)
    (tmp_path / "secret.py").write_text(SLEEPY)
    (tmp_path / "ok.py").write_text(SLEEPY)
    real_scandir, real_read = os.scandir, Path.read_bytes

    def scandir(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.chdir(tmp_path)
    results = {r.path: r for r in check_paths(["."], Options(settings=Settings()))}
    assert results["locked"].error == "cannot read directory: Permission denied"
    assert results["secret.py"].error == "cannot read: Permission denied"
    assert [f.code for f in results["ok.py"].findings] == ["AM101"]


def test_a_directory_tree_deeper_than_the_recursion_limit_is_walked(tmp_path: Path) -> None:
    """1,100 nested directories: more levels than Python's default recursion
    limit (1,000), well inside the system's limit on a path's length."""
    levels = 1_100
    directory = tmp_path / "tree"
    chain = [directory]
    for _ in range(levels):
        chain.append(chain[-1] / "d")
    for path in chain:
        path.mkdir()
    (chain[-1] / "deep.py").write_text(SLEEPY)
    (directory / "top.py").write_text(SLEEPY)
    try:
        run = _cli("check", "--no-progress", "tree", cwd=tmp_path)
        _no_traceback(run)
        assert run.returncode == 1, run.stderr[-3000:]
        assert "tree/top.py:5:5: AM101" in run.stdout
        assert "/d/deep.py:5:5: AM101" in run.stdout and run.stdout.count("AM101") == 2
    finally:
        # Removed here, bottom up: a recursive removal of this tree would itself
        # hit the recursion limit.
        (chain[-1] / "deep.py").unlink()
        (directory / "top.py").unlink()
        for path in reversed(chain):
            path.rmdir()


def test_a_100000_line_file_is_processed(tmp_path: Path) -> None:
    lines = ["import time", ""]
    for i in range(33_335):
        lines += [f"def f{i}(x):", f"    return x + {i}", ""]
    lines += ["async def handler():", "    time.sleep(1)", ""]
    big = tmp_path / "big.py"
    big.write_text("\n".join(lines))
    assert len(lines) >= 100_000
    run = _cli("check", "--no-progress", "big.py", cwd=tmp_path, timeout=600)
    _no_traceback(run)
    assert run.returncode == 1, run.stderr
    assert f"big.py:{len(lines) - 1}:5: AM101" in run.stdout
    run = _cli("fix", "--no-progress", "big.py", cwd=tmp_path, timeout=600)
    _no_traceback(run)
    assert run.returncode == 0, run.stderr
    fixed = big.read_text()
    assert fixed.startswith("import asyncio\n") and "import time" not in fixed
    assert fixed.endswith("async def handler():\n    await asyncio.sleep(1)\n")
    assert fixed.count("\n") == len(lines) - 1


def test_deeply_nested_expressions_are_reported_by_name(tmp_path: Path) -> None:
    (tmp_path / "deep_and.py").write_text(SLEEPY + "    x = " + " and ".join(["a"] * 20_000) + "\n")
    (tmp_path / "deep_sum.py").write_text(SLEEPY + "    x = " + "+".join(["1"] * 50_000) + "\n")
    (tmp_path / "deep_parens.py").write_text(SLEEPY + "    x = " + "(" * 500 + "1" + ")" * 500 + "\n")
    (tmp_path / "ok.py").write_text(SLEEPY)
    for jobs in ("1", "2"):
        run = _cli("check", "-j", jobs, ".", cwd=tmp_path, timeout=300)
        _no_traceback(run)
        assert run.returncode == 2
        for name in ("deep_and.py", "deep_sum.py", "deep_parens.py"):
            assert f"{name}: error:" in run.stderr or name in run.stderr, run.stderr
        assert "ok.py:5:5: AM101" in run.stdout


def test_non_utf8_file_names_are_processed(tmp_path: Path) -> None:
    if sys.platform == "darwin":
        pytest.skip("APFS refuses file names that are not UTF-8")
    name = os.fsdecode(b"caf\xe9.py")  # latin-1 bytes, not UTF-8
    (tmp_path / name).write_text(SLEEPY)
    (tmp_path / "ok.py").write_text(SLEEPY)
    check = _cli("check", ".", cwd=tmp_path)
    _no_traceback(check)
    assert check.returncode == 1
    assert check.stdout.count(":5:5: AM101") == 2
    fix = _cli("fix", ".", cwd=tmp_path)
    _no_traceback(fix)
    assert fix.returncode == 0
    assert (tmp_path / name).read_text() == FIXED
    assert (tmp_path / "ok.py").read_text() == FIXED


def _cli_bytes(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """The CLI with the standard streams of a UTF-8 locale such as
    en_US.UTF-8, where Python's stdout is strict: a file name that is not
    UTF-8 (decoded with surrogates) cannot simply be printed there."""
    return subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", *args],
        cwd=cwd, capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
    )


@pytest.mark.parametrize("fmt", ["text", "github", "json", "sarif", "rdjson", "rdjsonl"])
def test_non_utf8_file_names_in_every_output_format(tmp_path: Path, fmt: str) -> None:
    if sys.platform == "darwin":
        pytest.skip("APFS refuses file names that are not UTF-8")
    (tmp_path / os.fsdecode(b"caf\xe9.py")).write_text(SLEEPY)
    (tmp_path / os.fsdecode(b"b\xe9d.py")).write_text("def (:\n")
    run = _cli_bytes("check", "--no-progress", "--output-format", fmt, ".", cwd=tmp_path)
    assert b"Traceback" not in run.stderr, run.stderr.decode("utf-8", "replace")[-3000:]
    assert run.returncode == 2, run.stderr
    # The broken file is named on stderr as the file system spells it.
    assert b"b\xe9d.py: error: syntax error" in run.stderr
    if fmt in ("text", "github"):
        # Lines for people and for the runner: the name's own bytes, as ls prints them.
        assert (b"caf\xe9.py:5:5: AM101" if fmt == "text" else b"file=caf\xe9.py,line=5") in run.stdout
        return
    # JSON must be UTF-8: the name's undecodable byte is escaped, and
    # decoding the JSON gives back the exact name (os.fsencode).
    text = run.stdout.decode("utf-8")
    documents = [json.loads(line) for line in text.splitlines()] if fmt == "rdjsonl" else [json.loads(text)]
    if fmt == "json":
        paths = [finding["path"] for finding in documents[0]]
    elif fmt == "sarif":
        [sarif_run] = documents[0]["runs"]
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif_run["results"]]
        assert uris == ["caf%E9.py"]  # a URI names the bytes, percent-encoded
        paths = [sarif_run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]]
        paths = [os.fsdecode(urllib.parse.unquote_to_bytes(uri)) for uri in paths]
    else:
        diagnostics = documents[0]["diagnostics"] if fmt == "rdjson" else documents
        paths = [d["location"]["path"] for d in diagnostics]
    assert paths and {os.fsencode(path) for path in paths} == {b"caf\xe9.py"}


def test_non_utf8_file_names_in_fix_output(tmp_path: Path) -> None:
    if sys.platform == "darwin":
        pytest.skip("APFS refuses file names that are not UTF-8")
    name = os.fsdecode(b"caf\xe9.py")
    (tmp_path / name).write_text(SLEEPY)
    diff = _cli_bytes("fix", "--diff", "--no-progress", ".", cwd=tmp_path)
    assert b"Traceback" not in diff.stderr and diff.returncode == 0, diff.stderr
    assert b"+++ b/caf\xe9.py" in diff.stdout
    fix = _cli_bytes("fix", "--no-progress", ".", cwd=tmp_path)
    assert b"Traceback" not in fix.stderr and fix.returncode == 0, fix.stderr
    assert (tmp_path / name).read_text() == FIXED


def test_a_tree_of_every_hazard_at_once_finishes(tmp_path: Path) -> None:
    """All of the above in one tree, with two jobs: the run ends, names what
    it could not process, and fixes the rest."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "loop").symlink_to(tree)
    (tree / "x.py").symlink_to("y.py")
    (tree / "y.py").symlink_to("x.py")
    (tree / os.fsdecode(b"na\xefve.py")).write_text(SLEEPY)
    (tree / "broken.py").write_text("def (:\n")
    (tree / "nul.py").write_bytes(b"x = 1\0\n")
    (tree / "latin.py").write_bytes(b"x = '\xe9'\n")  # not UTF-8, no cookie
    (tree / "deep.py").write_text(SLEEPY + "    x = " + " or ".join(["a"] * 20_000) + "\n")
    (tree / "empty.py").write_text("")
    for i in range(20):
        (tree / f"m{i}.py").write_text(SLEEPY)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tree / "fifo.py")
    run = _cli("fix", "-j", "2", "tree", cwd=tmp_path, timeout=300)
    _no_traceback(run)
    assert run.returncode == 2
    for name in ("broken.py", "nul.py", "latin.py", "deep.py"):
        assert f"tree/{name}" in run.stderr, (name, run.stderr)
    assert all((tree / f"m{i}.py").read_text() == FIXED for i in range(20))
    assert (tree / os.fsdecode(b"na\xefve.py")).read_text() == FIXED
    assert codemods  # the package the subprocess runs is this one
