"""Bad input, odd bytes and directory walks.

Every file asyncmend cannot process is reported in one line on stderr that
names it and says why, is left byte for byte as it was, and does not stop the
other files; the run then exits 2 and no traceback reaches the user. Files it
does rewrite keep every byte outside the rewritten lines.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import asyncmend.codemods.engine.files as engine
from asyncmend.cli import main

ROOT = Path(__file__).resolve().parent.parent

BLOCKING = b"import time\n\n\nasync def handler():\n    time.sleep(1)\n"
FIXED = b"import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n"

# name -> (bytes, the reason the one-line report must give)
BAD_FILES: dict[str, tuple[bytes, str]] = {
    "syntax_error.py": (b"def broken(:\n    pass\n", "syntax error: invalid syntax (line 1, column 12)"),
    "python2_print.py": (b'import time\nprint "hello"\n', "syntax error: Missing parentheses"),
    "python2_except.py": (b"try:\n    pass\nexcept ValueError, e:\n    pass\n", "syntax error: multiple exception types"),
    "binary.py": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01sleep", "not UTF-8 (byte 0x89 on line 1)"),
    "nul_byte.py": (b"import time\nx = 1\x00\nasync def f():\n    time.sleep(1)\n", "NUL byte"),
    "bad_cookie.py": (b"# -*- coding: klingon -*-\nimport time\n", "unknown encoding: klingon"),
    "invalid_utf8.py": (b'import time\nx = "\xff\xfe"\n', "cannot decode as utf-8: invalid start byte (byte 0xff on line 2)"),
    "invalid_utf8_late.py": (b"import time\n\n\n\nx = '\xe9'\n", "cannot decode as utf-8: invalid continuation byte (byte 0xe9 on line 5)"),
    "ascii_cookie.py": (b"# coding: ascii\nx = '\xc3\xa9'\n", "cannot decode as ascii: ordinal not in range(128) (byte 0xc3 on line 2)"),
    "bom_and_latin1_cookie.py": (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "byte order mark and a coding cookie"),
    "utf16.py": ("import time\n".encode("utf-16"), "not UTF-8 (byte 0xff on line 1)"),
}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- unprocessable files ------------------------------------------------------


@pytest.mark.parametrize("command", [["check"], ["fix"], ["fix", "--diff"]])
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_reported_in_one_line_left_untouched_and_the_rest_goes_on(
    tree: Path, name: str, command: list[str]
) -> None:
    data, reason = BAD_FILES[name]
    (tree / name).write_bytes(data)
    (tree / "good.py").write_bytes(BLOCKING)

    result = invoke(*command, "-j", "1", name, "good.py")

    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    # `fix --diff` ends with what it would fix; the error is the one other line.
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith("Would fix ")]
    assert line.startswith(f"{name}: error: ")
    assert reason in line
    assert (tree / name).read_bytes() == data
    if command == ["fix"]:
        assert (tree / "good.py").read_bytes() == FIXED
    else:
        assert (tree / "good.py").read_bytes() == BLOCKING
        assert "good.py" in result.stdout, "the good file is still reported"


def test_bad_files_in_a_real_process_give_no_traceback(tree: Path) -> None:
    for name, (data, _) in BAD_FILES.items():
        (tree / name).write_bytes(data)
    (tree / "good.py").write_bytes(BLOCKING)

    proc = run("fix", "-j", "2", ".", cwd=tree)

    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert sorted(line.split(":")[0] for line in lines) == sorted(BAD_FILES)
    for name, (data, _) in BAD_FILES.items():
        assert (tree / name).read_bytes() == data
    assert (tree / "good.py").read_bytes() == FIXED
    assert f"{len(BAD_FILES)} files could not be processed." in proc.stdout


def test_missing_path_is_an_error_and_the_other_paths_still_run(tree: Path) -> None:
    (tree / "good.py").write_bytes(BLOCKING)
    result = invoke("fix", "missing.py", "good.py")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["missing.py: error: no such file or directory"]
    assert (tree / "good.py").read_bytes() == FIXED


def test_broken_symlink_is_named_as_such(tree: Path) -> None:
    (tree / "dangling.py").symlink_to(tree / "nowhere.py")
    result = invoke("check", "dangling.py")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["dangling.py: error: broken symbolic link"]


def test_directory_named_like_a_python_file_is_walked_as_a_directory(tree: Path) -> None:
    # `x.py/` is a directory: naming it walks it like any other directory
    # (no attempt to read it as a file), and so does meeting it in a walk.
    (tree / "x.py").mkdir()
    (tree / "x.py" / "inner.py").write_bytes(BLOCKING)
    (tree / "pkg" / "y.py").mkdir(parents=True)
    (tree / "pkg" / "y.py" / "deep.py").write_bytes(BLOCKING)

    named = invoke("check", "x.py")
    assert named.exit_code == 1
    assert named.stderr == ""
    assert named.stdout.startswith("x.py/inner.py:5:5: AM101 ")

    walked = invoke("fix", ".")
    assert walked.exit_code == 0
    assert walked.stderr == ""
    assert (tree / "x.py" / "inner.py").read_bytes() == FIXED
    assert (tree / "pkg" / "y.py" / "deep.py").read_bytes() == FIXED


def test_file_changed_on_disk_between_read_and_write_is_not_overwritten(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tree / "racy.py").write_bytes(BLOCKING)
    (tree / "good.py").write_bytes(BLOCKING)
    edited = BLOCKING + b"# saved by an editor meanwhile\n"
    real_process_bytes = engine.process_bytes

    def process_then_edit(data: bytes, *args: object, **kwargs: object) -> object:
        outcome = real_process_bytes(data, *args, **kwargs)  # type: ignore[arg-type]
        if args[-1] == "racy.py":  # the display name
            (tree / "racy.py").write_bytes(edited)
        return outcome

    monkeypatch.setattr(engine, "process_bytes", process_then_edit)
    result = invoke("fix", "-j", "1", "racy.py", "good.py")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "racy.py: error: changed on disk while asyncmend ran; left as it is"
    ]
    assert (tree / "racy.py").read_bytes() == edited
    assert (tree / "good.py").read_bytes() == FIXED
    assert not list(tree.glob(".*.asyncmend.tmp")), "no temporary file is left behind"


def test_a_crashing_rule_is_one_error_line_and_the_other_files_go_on(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncmend.codemods.blocking_sleep import BlockingSleep

    real_leave_call = BlockingSleep.leave_Call

    def leave_call(self: BlockingSleep, original_node: object, updated_node: object) -> object:
        if self.context.filename == "crash.py":
            raise ValueError("first line\n  second line\n")
        return real_leave_call(self, original_node, updated_node)  # type: ignore[arg-type]

    monkeypatch.setattr(BlockingSleep, "leave_Call", leave_call)
    (tree / "crash.py").write_bytes(BLOCKING)
    (tree / "good.py").write_bytes(BLOCKING)

    result = invoke("fix", "-j", "1", "crash.py", "good.py")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "crash.py: error: internal error: ValueError: first line second line"
    ]
    assert (tree / "crash.py").read_bytes() == BLOCKING
    assert (tree / "good.py").read_bytes() == FIXED


def test_too_deeply_nested_source_is_an_error_not_a_crash(tree: Path) -> None:
    deep = BLOCKING + b"x = " + b"-" * 20000 + b"1\n"
    (tree / "deep.py").write_bytes(deep)
    result = invoke("fix", "deep.py")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["deep.py: error: too deeply nested for the Python parser"]
    assert (tree / "deep.py").read_bytes() == deep


# -- bytes that survive a rewrite ---------------------------------------------


REWRITES: dict[str, tuple[bytes, bytes]] = {
    "crlf": (
        b"import time\r\n\r\n\r\nasync def f():\r\n    time.sleep(1)  # wait\r\n    return 1\r\n",
        b"import asyncio\r\n\r\n\r\nasync def f():\r\n    await asyncio.sleep(1)  # wait\r\n    return 1\r\n",
    ),
    "tabs": (
        b"import time\n\n\nasync def f():\n\tif True:\n\t\ttime.sleep(1)\t# wait\n\treturn 'a\tb'\n",
        b"import asyncio\n\n\nasync def f():\n\tif True:\n\t\tawait asyncio.sleep(1)\t# wait\n\treturn 'a\tb'\n",
    ),
    "bom": (
        b"\xef\xbb\xbfimport time\n\n\nasync def f():\n    time.sleep(1)\n    return '\xc3\xa9'\n",
        b"\xef\xbb\xbfimport asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n    return '\xc3\xa9'\n",
    ),
    "latin1_cookie": (
        b"# -*- coding: latin-1 -*-\nimport time\n\n\nasync def f():\n    time.sleep(1)\n    return 'caf\xe9'\n",
        b"# -*- coding: latin-1 -*-\nimport asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n    return 'caf\xe9'\n",
    ),
    "bom_crlf_tabs_time_kept": (
        b"\xef\xbb\xbfimport time\r\n\r\nasync def f():\r\n\ttime.sleep(1)\r\n\treturn time.time()\r\n",
        b"\xef\xbb\xbfimport asyncio\r\nimport time\r\n\r\nasync def f():\r\n\tawait asyncio.sleep(1)\r\n\treturn time.time()\r\n",
    ),
    "mixed_line_endings": (
        b"import time\r\n\nasync def f():\r\n    time.sleep(1)\n    return 2\r\n",
        b"import asyncio\r\n\nasync def f():\r\n    await asyncio.sleep(1)\n    return 2\r\n",
    ),
    "no_final_newline": (
        b"import time\n\n\nasync def f():\n    time.sleep(1)",
        b"import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)",
    ),
    "form_feed_and_continuation": (
        b"import time\n\x0c\nasync def f():\n    x = 1 + \\\n        (time.sleep(1) or 2)\n    return x\n",
        b"import asyncio\n\x0c\nasync def f():\n    x = 1 + \\\n        (await asyncio.sleep(1) or 2)\n    return x\n",
    ),
}


@pytest.mark.parametrize("name", sorted(REWRITES))
def test_rewrite_keeps_every_byte_outside_the_rewritten_lines(tree: Path, name: str) -> None:
    before, expected = REWRITES[name]
    (tree / "m.py").write_bytes(before)
    result = invoke("fix", "m.py")
    assert result.exit_code == 0, result.output
    assert (tree / "m.py").read_bytes() == expected


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch")
def test_diff_of_a_crlf_file_applies_with_patch(tree: Path) -> None:
    before, expected = REWRITES["bom_crlf_tabs_time_kept"]
    (tree / "m.py").write_bytes(before)
    diff = invoke("fix", "--diff", "m.py").stdout_bytes
    proc = subprocess.run(["patch", "-p1", "--binary"], input=diff, cwd=tree, capture_output=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tree / "m.py").read_bytes() == expected


# -- atomic write -------------------------------------------------------------


def test_rewrite_keeps_the_file_mode(tree: Path) -> None:
    path = tree / "script.py"
    path.write_bytes(BLOCKING)
    path.chmod(0o751)
    assert invoke("fix", "script.py").exit_code == 0
    assert path.read_bytes() == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert not list(tree.glob(".*.asyncmend.tmp"))


def test_rewrite_through_a_symlink_writes_the_target_and_keeps_the_link(tree: Path) -> None:
    (tree / "real.py").write_bytes(BLOCKING)
    (tree / "link.py").symlink_to("real.py")
    assert invoke("fix", "link.py").exit_code == 0
    assert (tree / "link.py").is_symlink()
    assert (tree / "real.py").read_bytes() == FIXED


def test_unchanged_file_is_not_rewritten(tree: Path) -> None:
    path = tree / "clean.py"
    path.write_bytes(FIXED)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    inode = path.stat().st_ino
    assert invoke("fix", "clean.py").exit_code == 0
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert path.stat().st_ino == inode


# -- directory walks ----------------------------------------------------------


def _make_repo(tree: Path) -> None:
    (tree / ".git").mkdir()
    (tree / ".gitignore").write_bytes((
        # An anchored pattern must match from the repository root even when
        # only a subdirectory is walked.
        b"ignored.py\nbuild_out/\n*.gen.py\n!keep.gen.py\n/app/private/\n"
    ))
    for rel in [
        "app/main.py",
        "app/ignored.py",
        "build_out/out.py",
        "app/models.gen.py",
        "app/keep.gen.py",
        "app/vendor/lib.py",
        "app/vendor/local.py",
        "app/generated_pb2.py",
        "venv/lib/site.py",
        ".git/hook.py",
        "app/notes.txt",
        "app/private/secret.py",
    ]:
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(BLOCKING)
    # A nested .gitignore applies below its directory, and can re-include.
    (tree / "app" / "vendor" / ".gitignore").write_bytes(b"*.py\n!local.py\n")
    (tree / "app" / "generated_pb2.py").write_bytes(b"# @generated by protoc\n" + BLOCKING)


def _reported(result: Result) -> list[str]:
    return sorted({line.split(":")[0] for line in result.stdout.splitlines()[:-1]})


def test_walk_honours_gitignore_default_excludes_and_generated_marker(tree: Path) -> None:
    _make_repo(tree)
    result = invoke("check", ".")
    assert result.exit_code == 1
    assert _reported(result) == ["app/keep.gen.py", "app/main.py", "app/vendor/local.py"]


def test_walk_of_a_subdirectory_uses_the_repository_gitignore(tree: Path) -> None:
    _make_repo(tree)
    result = invoke("check", "app")
    assert _reported(result) == ["app/keep.gen.py", "app/main.py", "app/vendor/local.py"]


def test_a_named_directory_is_walked_even_where_gitignore_leaves_it_out(tree: Path) -> None:
    # `build_out/` and `/app/private/` are ignored; named on the command
    # line, they are walked (as ruff does) rather than reported as clean.
    _make_repo(tree)
    assert _reported(invoke("check", "build_out")) == ["build_out/out.py"]
    assert _reported(invoke("check", "app/private")) == ["app/private/secret.py"]
    # Walking from above, they stay out.
    assert "build_out/out.py" not in _reported(invoke("check", "."))


def test_exclude_skips_files_and_directories_while_walking(tree: Path) -> None:
    _make_repo(tree)
    result = invoke("check", "--exclude", "app/vendor/", "--exclude", "keep.*.py", ".")
    assert _reported(result) == ["app/main.py"]


def test_explicitly_named_files_are_always_processed(tree: Path) -> None:
    _make_repo(tree)
    named = ["app/ignored.py", "build_out/out.py", "app/generated_pb2.py", "app/vendor/lib.py", "app/notes.txt"]
    result = invoke("check", "--exclude", "app/", *named)
    assert result.exit_code == 1
    assert _reported(result) == sorted(named)


def test_gitignore_is_honoured_by_fix_too(tree: Path) -> None:
    _make_repo(tree)
    assert invoke("fix", ".").exit_code == 0
    assert (tree / "app" / "main.py").read_bytes() == FIXED
    assert (tree / "app" / "ignored.py").read_bytes() == BLOCKING
    assert (tree / "app" / "generated_pb2.py").read_bytes().endswith(BLOCKING)
