"""scripts/lib.sh: ensure_venv installs a requirements file once, and scripts/run (requirements.txt)
and scripts/test (requirements-dev.txt, which includes it) never undo each other's install."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path):
    """A copy of scripts/lib.sh in a project of its own, whose .venv/bin/python only writes down
    how it was called (so no package is really installed)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts/lib.sh", tmp_path / "scripts/lib.sh")
    (tmp_path / "requirements.txt").write_text("django==5.2.19\n")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\npytest==9.2.0\n")
    python = tmp_path / ".venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\n')
    python.chmod(0o755)
    return tmp_path


def ensure_venv(project: Path, requirements: str) -> list[str]:
    """Run ensure_venv as the scripts do; the requirements files pip was asked to install."""
    calls = project / "calls"
    calls.unlink(missing_ok=True)
    subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source scripts/lib.sh; ensure_venv {requirements}"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    lines = calls.read_text().splitlines() if calls.exists() else []
    return [Path(line.split(" -r ")[1]).name for line in lines if " -r " in line]


def test_switching_between_run_and_test_installs_nothing_again(project):
    assert ensure_venv(project, "requirements.txt") == ["requirements.txt"]
    assert ensure_venv(project, "requirements-dev.txt") == ["requirements-dev.txt"]
    for _ in range(2):
        assert ensure_venv(project, "requirements.txt") == []
        assert ensure_venv(project, "requirements-dev.txt") == []


def test_installing_the_dev_requirements_satisfies_run(project):
    assert ensure_venv(project, "requirements-dev.txt") == ["requirements-dev.txt"]
    assert ensure_venv(project, "requirements.txt") == []


def test_a_changed_pin_installs_again_where_it_is_included(project):
    ensure_venv(project, "requirements-dev.txt")
    (project / "requirements.txt").write_text("django==5.2.20\n")
    assert ensure_venv(project, "requirements.txt") == ["requirements.txt"]
    assert ensure_venv(project, "requirements-dev.txt") == ["requirements-dev.txt"]
    (project / "requirements-dev.txt").write_text("-r requirements.txt\npytest==9.2.1\n")
    assert ensure_venv(project, "requirements.txt") == []
    assert ensure_venv(project, "requirements-dev.txt") == ["requirements-dev.txt"]


def ensure_node_modules(project: Path) -> list[str]:
    """Run ensure_node_modules with an npm that only writes down how it was called."""
    fake = project / "bin/npm"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(f'#!/bin/sh\necho "$*" >> {project}/npm-calls\nmkdir -p node_modules\n')
    fake.chmod(0o755)
    calls = project / "npm-calls"
    calls.unlink(missing_ok=True)
    subprocess.run(
        ["bash", "-c", "set -euo pipefail; source scripts/lib.sh; ensure_node_modules"],
        cwd=project,
        check=True,
        capture_output=True,
        env={"PATH": f"{fake.parent}:/usr/bin:/bin"},
    )
    return calls.read_text().splitlines() if calls.exists() else []


def test_node_modules_are_installed_again_only_when_the_lock_file_changes(project):
    (project / "package-lock.json").write_text('{"lockfileVersion": 3}\n')
    assert [c.split()[0] for c in ensure_node_modules(project)] == ["ci"]
    assert ensure_node_modules(project) == []
    (project / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {}}\n')
    assert [c.split()[0] for c in ensure_node_modules(project)] == ["ci"]
