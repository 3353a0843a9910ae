"""``python -m automl_lite.cli``: the same as the ``automl-lite`` command."""

import sys

from automl_lite.cli import main

sys.exit(main())
