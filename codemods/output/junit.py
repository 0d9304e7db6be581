"""``--output-format junit``: JUnit XML, as CI servers (Jenkins, GitLab,
Azure Pipelines) read test reports.

One ``testsuite`` per file with findings or an error, one failing
``testcase`` per finding (``classname`` the path, ``name`` the rule and
position), an ``error`` for a file that could not be processed; a run with
nothing to report is one suite with one passing case, so that the report
always says what was checked. Only the attributes the common JUnit schema
(Jenkins' junit-10) allows are written.
"""

from __future__ import annotations

from typing import Sequence
from xml.etree import ElementTree

from ..findings import FileResult
from .common import TOOL_NAME, fix_note, open_findings


def render_junit(results: Sequence[FileResult], *, fixing: bool = False) -> str:
    suites = ElementTree.Element("testsuites", name=TOOL_NAME)
    total = failures = errors = 0
    for result in results:
        findings = open_findings(result, fixing)
        if not findings and result.error is None:
            continue
        suite = ElementTree.SubElement(suites, "testsuite", name=_text(result.path), file=_text(result.path))
        for finding in findings:
            case = ElementTree.SubElement(
                suite, "testcase", name=f"{finding.code} at {finding.line}:{finding.column}", classname=_text(result.path)
            )
            failure = ElementTree.SubElement(case, "failure", type=finding.code, message=_text(finding.message))
            failure.text = _text(f"{result.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}{fix_note(finding)}")
        if result.error is not None:
            case = ElementTree.SubElement(suite, "testcase", name="processing", classname=_text(result.path))
            error = ElementTree.SubElement(case, "error", type="error", message=_text(result.error))
            error.text = _text(f"{result.path}: {result.error}")
        suite.set("tests", str(len(findings) + (result.error is not None)))
        suite.set("failures", str(len(findings)))
        suite.set("errors", str(int(result.error is not None)))
        total += len(findings) + (result.error is not None)
        failures += len(findings)
        errors += result.error is not None
    if not len(suites):
        suite = ElementTree.SubElement(suites, "testsuite", name=TOOL_NAME, tests="1", failures="0", errors="0")
        ElementTree.SubElement(suite, "testcase", name="no findings", classname=TOOL_NAME)
        total = 1
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def _text(value: str) -> str:
    """XML 1.0 holds no control characters and no lone surrogates (a file
    name that is not UTF-8): shown escaped instead."""
    return "".join(
        char if (char in "\t\n\r" or 0x20 <= ord(char) < 0xD800 or 0xE000 <= ord(char) <= 0xFFFD or ord(char) > 0xFFFF)
        else f"\\x{ord(char) & 0xFF:02x}"
        for char in value
    )
