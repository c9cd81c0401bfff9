"""The kernel's compiled code is cached per version of its sources, never reused across a change."""

import shutil
from pathlib import Path

import numba

import dynamical.safety
from dynamical.safety import kernel_cache_dir, sources_digest


def test_the_cache_directory_changes_with_any_source_of_the_package(tmp_path):
    package = Path(dynamical.safety.__file__).parent
    copy = tmp_path / "safety"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = kernel_cache_dir(copy, str(tmp_path / "cache"))
    assert before == tmp_path / "cache" / "numba" / f"safety-{sources_digest(package)}"
    # a change in a file that others inline (not the caller's own file) is a new directory
    filter_step = copy / "filter_step.py"
    filter_step.write_text(filter_step.read_text() + "\n# changed\n")
    assert kernel_cache_dir(copy, str(tmp_path / "cache")) != before


def test_the_running_kernel_uses_its_own_versions_cache():
    package = Path(dynamical.safety.__file__).parent
    assert Path(numba.config.CACHE_DIR).name == f"safety-{sources_digest(package)}"
