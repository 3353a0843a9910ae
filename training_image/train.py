"""Training container entry point: configuration from ``AUTOML_*`` environment variables only.

Exit codes: 0 trained and uploaded; 1 training failed (``training/failure.json`` says why);
2 the environment is incomplete or malformed (nothing was read or written).
The work itself is :func:`automl_lite.training.job_main`.
"""

from __future__ import annotations

import sys

from automl_lite.training import job_main


def main() -> int:
    """Run one training job as configured by the environment."""
    return job_main()


if __name__ == "__main__":
    sys.exit(main())
