"""Models pickled by earlier layouts of the package keep loading (automl_lite.model.integrity).

``tests/fixtures/legacy/`` holds native models saved by two earlier layouts, with 25 rows and the
predictions the model gave when it was saved: ``presplit_*`` by the layout before the ``train``
package (``automl_lite.training.NativeModel``), ``flat_*`` by the flat ground floor
(``automl_lite.preprocessing``, ``automl_lite.features``). Each must load through the one loader
Export uses and predict what it predicted then.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_lite.model.integrity import LEGACY_PATHS, digest_line, load_native_model
from automl_lite.train import NativeModel

LEGACY = Path(__file__).resolve().parents[2] / "fixtures" / "legacy"
CASES = sorted(p.stem for p in LEGACY.glob("*.joblib"))


def test_there_are_models_of_both_earlier_layouts():
    assert {c.split("_")[0] for c in CASES} == {"presplit", "flat"}
    assert len(CASES) == 6


@pytest.mark.parametrize("case", CASES)
def test_a_model_saved_by_an_earlier_layout_loads_and_predicts_as_it_did(case):
    data = (LEGACY / f"{case}.joblib").read_bytes()
    model = load_native_model(data, digest_line(data, "model.joblib").encode(), model_uri=case)
    assert isinstance(model, NativeModel)
    rows = pd.read_csv(LEGACY / f"{case}_rows.csv")
    expected = pd.read_csv(LEGACY / f"{case}_expected.csv")["prediction"]
    predicted = pd.Series(model.predict(rows))
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(predicted.astype(float), expected, rtol=1e-6)
    else:
        assert predicted.astype(str).tolist() == expected.astype(str).tolist()


def test_the_current_layout_pickles_only_the_paths_it_has():
    # A model saved today names modules that exist (none of them an alias of LEGACY_PATHS).
    import importlib
    import io

    data = (LEGACY / f"{CASES[0]}.joblib").read_bytes()
    model = load_native_model(data, digest_line(data, "model.joblib").encode(), model_uri="m")
    named: set[str] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            if module.startswith("automl_lite"):
                named.add(module)
            return super().find_class(module, name)

    buffer = io.BytesIO()
    pickle.dump(model, buffer)
    buffer.seek(0)
    Recorder(buffer).load()
    assert named and not named & set(LEGACY_PATHS), named
    for module in named:
        assert importlib.util.find_spec(module) is not None, module
