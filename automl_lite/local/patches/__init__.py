"""The local engine's patches of moto's internals, one module per group (numbered as in
:mod:`automl_lite.local.moto_patches`, which installs them all, in order, once):

- :mod:`.engine_state`: what the patches read (faults, limits, credentials, folders);
- :mod:`.lambda_invoke` (1): Lambda Invoke runs the handler in-process, within its limits;
- :mod:`.batch` (2, 4, 5): Batch jobs as subprocesses, parameter casing, unplaceable jobs;
- :mod:`.events` (3): EventBridge TestEventPattern;
- :mod:`.limits` (5): the state payload quota, ``States.ALL``'s exceptions, SNS's limits;
- :mod:`.credentials` (6): the interpreter's clients use the engine's credentials;
- :mod:`.distributed_map` (7): a Distributed Map's tolerated failure threshold.
"""

from __future__ import annotations

from typing import Any

#: moto's functions, as they were before a patch replaced them (a patch calls its original).
ORIGINAL: dict[str, Any] = {}
