"""README.md is tested: every ``python`` and ``bash`` block runs, as written, from an empty directory.

A block may be preceded by HTML comments (invisible when rendered) that say how the suite runs it:

* ``<!-- test: replace OLD => NEW -->`` -- a textual substitution before running (smaller budgets);
* ``<!-- test: skip-line TEXT -- reason -->`` -- shell lines containing ``TEXT`` are not run;
* ``<!-- test: skip -- reason -->`` -- the block is not run (the reason is the skip message);
* ``<!-- test: data -->`` -- the block needs the published data (skips with the fetch command);
* ``<!-- test: slow -->`` -- the block runs with the slow tests (CI runs them).

Python blocks run in a fresh interpreter each; a ``bash`` block runs line by line in one directory
(``.venv/bin/`` is the running interpreter's ``bin``), so a line may read what an earlier one wrote.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TIMEOUT = 900


@dataclass
class Block:
    line: int
    lang: str
    code: str
    replace: list[tuple[str, str]] = field(default_factory=list)
    skip_lines: list[str] = field(default_factory=list)
    skip: str | None = None
    data: bool = False
    slow: bool = False

    def prepared(self) -> str:
        code = self.code
        for old, new in self.replace:
            if old not in code:
                raise AssertionError(f"README line {self.line}: `replace {old} => {new}` matches nothing")
            code = code.replace(old, new)
        return code


_NOTE = re.compile(r"^<!--\s*test:\s*(.*?)\s*-->\s*$")


def _directive(block: Block, text: str) -> None:
    verb, _, rest = text.partition(" ")
    if verb == "replace":
        old, sep, new = rest.partition(" => ")
        assert sep, f"README line {block.line}: replace needs 'OLD => NEW', got {text!r}"
        block.replace.append((old, new))
    elif verb == "skip-line":
        block.skip_lines.append(rest.split(" -- ")[0].strip())
    elif verb == "skip":
        block.skip = rest.lstrip("- ").strip() or "skipped in README"
    elif verb in ("data", "slow"):
        setattr(block, verb, True)
    else:
        raise AssertionError(f"README: unknown test directive {text!r}")


def parse_readme(text: str) -> list[Block]:
    """The README's ``python``/``bash`` blocks with their directives."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        if fence.group(1) in ("python", "bash"):
            block = Block(i + 1, fence.group(1), "\n".join(lines[i + 1:end]) + "\n")
            j = i - 1
            while j >= 0 and _NOTE.match(lines[j]):
                _directive(block, _NOTE.match(lines[j]).group(1))
                j -= 1
            blocks.append(block)
        i = end + 1
    return blocks


BLOCKS = parse_readme(README.read_text())


def _params():
    for b in BLOCKS:
        marks = [pytest.mark.slow] if b.slow else []
        yield pytest.param(b, id=f"line{b.line}-{b.lang}", marks=marks)


def test_readme_blocks_are_found():
    text = README.read_text()
    assert len(BLOCKS) == text.count("```python") + text.count("```bash") >= 6


def test_directives_parse():
    (b,) = parse_readme("<!-- test: slow -->\n<!-- test: replace -n 80 => -n 4 -->\n<!-- test: skip-line make -- CI -->\n"
                        "```bash\nrun -n 80\nmake all\n```\n")
    assert (b.slow, b.replace, b.skip_lines, b.prepared()) == (True, [("-n 80", "-n 4")], ["make"], "run -n 4\nmake all\n")
    with pytest.raises(AssertionError, match="matches nothing"):
        parse_readme("<!-- test: replace gone => here -->\n```python\npass\n```\n")[0].prepared()
    with pytest.raises(AssertionError, match="unknown test directive"):
        parse_readme("<!-- test: sometimes -->\n```python\npass\n```\n")


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    env["RAY_AIR_NEW_OUTPUT"] = "0"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)  # the block sees the installed package, as a reader would
    return env


def _run(cmd, tmp_path: Path, env: dict, **kw) -> None:
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT, **kw)
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"


@pytest.mark.parametrize("block", _params())
def test_readme_block_runs(block: Block, tmp_path: Path, request):
    if block.skip:
        pytest.skip(block.skip)
    if block.data:
        request.getfixturevalue("data_dir")
    env = _env(tmp_path)
    code = block.prepared()
    if block.lang == "python":
        _run([sys.executable, "-c", code], tmp_path, env)
        return
    bindir = str(Path(sys.executable).parent) + "/"
    for line in code.splitlines():
        command = line.split("  #")[0].strip()
        if not command or command.startswith("#") or any(s in command for s in block.skip_lines):
            continue
        _run(command.replace(".venv/bin/", bindir), tmp_path, env, shell=True)
