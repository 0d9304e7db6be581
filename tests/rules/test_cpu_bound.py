"""AM103 cpu-bound: which CPU-heavy calls in a coroutine it reports, how it
decides a call is heavy, which it fixes (those that release the GIL) and
which it only reports (those that hold it), its options, and that the fixed
program lets the other tasks run while it computes what the original did."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from asyncmend.codemods.cpu_bound import CpuBound
from asyncmend.codemods.settings import ConfigError, load_config
from tests.helpers import TICKING, findings_of, fixed_by, fixture_findings, printed

# -- findings and messages ----------------------------------------------------


def test_gil_releasing_call_message_says_a_thread_runs_it_in_parallel() -> None:
    (finding,) = findings_of(
        """
        import bcrypt

        async def f(password):
            return bcrypt.hashpw(password, bcrypt.gensalt())
        """,
        "AM103",
    )
    assert finding.fixable
    assert "slow by design" in finding.message
    assert "it releases the GIL, so a thread runs it in parallel: `await asyncio.to_thread(...)`" in finding.message


def test_pure_python_call_is_reported_without_a_fix_naming_the_gil_and_a_process_pool() -> None:
    findings = fixture_findings("cpu_bound/noop_pure_python")
    assert [(f.line, f.fixable) for f in findings] == [(8, False), (9, False)]
    for finding in findings:
        assert "a thread would not help, as it holds the GIL" in finding.message
        assert "`concurrent.futures.ProcessPoolExecutor`" in finding.message


@pytest.mark.parametrize(
    "case, lines, reason",
    [
        ("noop_comprehension_and_trio", [7, 8], "in a comprehension"),
        ("noop_comprehension_and_trio", [7, 8], "`await trio.to_thread.run_sync(...)`"),
    ],
)
def test_site_the_rule_cannot_fix_is_reported_with_the_reason(case: str, lines: list[int], reason: str) -> None:
    findings = fixture_findings(f"cpu_bound/{case}")
    assert [f.line for f in findings] == lines
    assert not any(f.fixable for f in findings)
    assert any(reason in f.message for f in findings)


# -- what is heavy ------------------------------------------------------------
#
# Each program is a module; the marked lines must be reported and no other.

HEAVINESS = {
    "password hashing is heavy by design, in any import form": """
        import hashlib
        from bcrypt import kdf as derive
        import argon2.low_level as argon
        from nacl import pwhash

        async def f(pw, salt, rounds):
            derive(pw, salt, 32, rounds)  # report
            argon.hash_secret(pw, salt, 2, 65536, 1, 32, argon.Type.ID)  # report
            pwhash.argon2id.str(pw)  # report
            hashlib.scrypt(pw, salt=salt, n=16384, r=8, p=1)  # report
            hashlib.pbkdf2_hmac("sha256", pw, salt, rounds)  # report
        """,
    "a literal work factor below the floor is cheap": """
        import hashlib

        async def f(pw, salt):
            hashlib.pbkdf2_hmac("sha256", pw, salt, 999)
            hashlib.pbkdf2_hmac("sha256", pw, salt, iterations=10)
            hashlib.scrypt(pw, salt=salt, n=16, r=1, p=1)
            hashlib.pbkdf2_hmac("sha256", pw, salt, 1000)  # report
            hashlib.scrypt(pw, salt=salt, n=1024, r=8, p=1)  # report
        """,
    "compression is heavy unless its data is a literal": """
        import bz2, gzip, lzma, zlib

        async def f(data, parts):
            zlib.compress(b"abc")
            zlib.decompress(data=b"x" b"y")
            gzip.compress("text".encode())
            bz2.compress(data)  # report
            lzma.decompress(b"".join(parts))  # report
            zlib.compress(*parts)  # report
        """,
    "a PasswordHasher is followed from where it is made": """
        from argon2 import PasswordHasher

        SHARED = PasswordHasher()

        async def f(pw, stored, hasher: PasswordHasher, other):
            SHARED.hash(pw)  # report
            hasher.verify(stored, pw)  # report
            PasswordHasher(time_cost=3).hash(pw)  # report
            other.hash(pw)
            SHARED.check_needs_rehash(stored)
        """,
    "hashing, json and pickle are not in the list": """
        import hashlib, json, pickle

        async def f(data, path):
            hashlib.sha256(data).hexdigest()
            json.loads(data)
            pickle.dumps(data)
            with open(path, "rb") as handle:
                hashlib.file_digest(handle, "sha256")  # report
        """,
    "shadowed names and plain defs are not": """
        import zlib

        def sync(data):
            return zlib.compress(data)

        async def f(zlib, data):
            return zlib.compress(data)
        """,
}


@pytest.mark.parametrize("name", sorted(HEAVINESS))
def test_reports_exactly_the_marked_heavy_calls(name: str) -> None:
    source = textwrap.dedent(HEAVINESS[name])
    expected = [number for number, line in enumerate(source.splitlines(), 1) if "# report" in line]
    assert [f.line for f in findings_of(source, "AM103")] == expected


def test_small_constants_and_calls_outside_the_loop_are_not_reported() -> None:
    assert fixture_findings("cpu_bound/noop_small_or_unknown_cost") == []
    assert fixture_findings("cpu_bound/noop_not_on_the_loop") == []


# -- options ------------------------------------------------------------------

OPTION_PROGRAM = """
    import imaging
    import yaml

    async def f(page, text):
        imaging.render_pdf(page)
        imaging.render_pdf("cover", 1)
        imaging.thumbnail(page)
        return yaml.safe_load(text)
    """


def test_options_add_functions_that_release_or_hold_the_gil() -> None:
    findings = findings_of(
        OPTION_PROGRAM, "AM103", **{"gil-releasing-calls": "imaging.render_pdf", "cpu-bound-calls": "imaging.thumbnail"}
    )
    # A call whose arguments are all literals is not reported.
    assert [(f.line, f.fixable) for f in findings] == [(6, True), (8, False), (9, False)]
    assert "configuration" in findings[0].message


def test_option_removes_built_in_entries() -> None:
    assert [f.line for f in findings_of(OPTION_PROGRAM, "AM103")] == [9]
    assert findings_of(OPTION_PROGRAM, "AM103", **{"cpu-bound-calls": "!yaml.*"}) == []


def test_option_entry_that_is_not_a_dotted_name_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.asyncmend]\ngil-releasing-calls = ["lib:fn"]\n')
    with pytest.raises(ConfigError, match="gil-releasing-calls: not a dotted name"):
        load_config(tmp_path / "pyproject.toml", [CpuBound])


# -- behaviour ----------------------------------------------------------------
#
# The original and the fixed program run in a fresh interpreter. A ticker
# task counts how often it runs while ``work()`` derives keys
# (tests.helpers.TICKING): the original never lets it run; the fixed one
# does, and derives the same keys.

PROGRAM = '''
import asyncio
import hashlib
import json


async def work():
    keys = []
    for salt in (b"salt-1", b"salt-2"):
        key = hashlib.pbkdf2_hmac("sha256", b"secret", salt, 300_000)
        keys.append(key.hex())
    return keys
'''


def test_fixed_key_derivation_lets_other_tasks_run_and_derives_the_same_keys(tmp_path: Path) -> None:
    fixed = fixed_by(PROGRAM, "AM103")
    assert fixed.count("await asyncio.to_thread(hashlib.pbkdf2_hmac,") == 1

    keys_before, ticks_before = printed(PROGRAM + TICKING, tmp_path, "original")
    keys_after, ticks_after = printed(fixed + TICKING, tmp_path, "fixed")

    assert keys_after == keys_before
    assert len(set(keys_before)) == 2
    assert ticks_before == 0
    # Two derivations of ~0.1 s each with a 5 ms ticker give dozens of
    # ticks; 5 leaves a wide margin for a slow machine.
    assert ticks_after >= 5
