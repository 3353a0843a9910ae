"""Write the JSON Schema of every artifact model to docs/schemas/<name>.schema.json.

Run from the repository's root after changing a model in automl_lite (tests/unit/test_schemas.py
fails until the committed schemas match the models):

    python scripts/export_schemas.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automl_lite.schemas import ARTIFACT_MODELS, schema_file, schema_text  # noqa: E402


def main() -> int:
    for model in ARTIFACT_MODELS:
        path = ROOT / schema_file(model)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = schema_text(model)
        changed = not path.exists() or path.read_text(encoding="utf-8") != text
        path.write_text(text, encoding="utf-8")
        print(f"{'wrote' if changed else 'unchanged'} {path.relative_to(ROOT)} ({model.__name__})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
