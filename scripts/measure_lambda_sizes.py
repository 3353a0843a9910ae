"""Measure how big each Lambda step's dependencies are, against Lambda's package limits.

For each handler module, a fresh interpreter imports it and records every module loaded;
the modules are mapped to their installed distributions, whose files (per their RECORD)
are summed. This is the unzipped size a zip package would need (Lambda's limit: 250 MB,
layers included). The whole image (``lambdas/requirements.txt``) is measured too, against
the 10 GB container-image limit. Sizes are those of the venv's wheels (manylinux x86_64,
the platform the functions run on), byte code included; the venv may run CPython 3.11 while
the image runs 3.12 (``automl_lite.aws.resources.PYTHON_VERSION``): the same pins, builds for
another interpreter, of nearly the same size. boto3/botocore are listed apart since the zip
runtime ships them.

Run: ``.venv/bin/python scripts/measure_lambda_sizes.py`` (``--json`` for machine-readable output).
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HANDLERS = {
    "validate": "lambdas.validate",
    "profile": "lambdas.profile",
    "export": "lambdas.export",
    "report_failure": "lambdas.report_failure",
}
ZIP_LIMIT_MB = 250.0
IMAGE_LIMIT_MB = 10 * 1024.0
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
MB = 1024 * 1024

_PROBE = """
import importlib, json, sys
before = set(sys.modules)
importlib.import_module(sys.argv[1])
print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))
"""


@dataclass
class Measurement:
    step: str
    importable: bool
    distributions: list[str]
    size_mb: float
    size_without_runtime_mb: float
    fits_zip: bool


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_size(name: str) -> int:
    """Bytes on disk of one installed distribution (every file its RECORD lists)."""
    dist = metadata.distribution(name)
    total = 0
    for file in dist.files or []:
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def imported_distributions(module: str) -> list[str] | None:
    """Distributions whose modules get loaded by importing ``module``, or None if it cannot be imported."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, module],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO_ROOT), "AWS_DEFAULT_REGION": "us-east-1", "MPLBACKEND": "Agg"},
        check=False,
    )
    if result.returncode != 0:
        return None
    top_level = json.loads(result.stdout.strip().splitlines()[-1])
    owners = metadata.packages_distributions()
    found = {_normalize(d) for name in top_level for d in owners.get(name, [])}
    return sorted(found)


def requirement_names(requirements: Path) -> list[str]:
    names = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(_normalize(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]))
    return names


def measure(step: str, distributions: list[str], importable: bool) -> Measurement:
    sizes = {d: distribution_size(d) for d in distributions}
    total = sum(sizes.values())
    without_runtime = sum(s for d, s in sizes.items() if d not in RUNTIME_PROVIDED)
    return Measurement(
        step=step,
        importable=importable,
        distributions=distributions,
        size_mb=round(total / MB, 1),
        size_without_runtime_mb=round(without_runtime / MB, 1),
        fits_zip=without_runtime / MB < ZIP_LIMIT_MB,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    image = requirement_names(REPO_ROOT / "lambdas" / "requirements.txt")
    rows = []
    for step, module in HANDLERS.items():
        found = imported_distributions(module)
        rows.append(measure(step, found if found is not None else image, importable=found is not None))
    rows.append(measure("(whole image)", image, importable=True))

    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    print(f"{'step':<16}{'deps (MB)':>11}{'w/o boto3 (MB)':>16}{'zip limit':>11}{'image limit':>13}  note")
    for r in rows:
        zip_verdict = "fits" if r.fits_zip else "TOO BIG"
        image_verdict = "fits" if r.size_mb < IMAGE_LIMIT_MB else "TOO BIG"
        note = "" if r.importable else "handler not importable yet: whole image measured"
        print(
            f"{r.step:<16}{r.size_mb:>11.1f}{r.size_without_runtime_mb:>16.1f}{zip_verdict:>11}{image_verdict:>13}  {note}"
        )
    print(
        f"\nLimits: zip package {ZIP_LIMIT_MB:.0f} MB unzipped (layers included); container image {IMAGE_LIMIT_MB / 1024:.0f} GB."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
