"""Make the shared verifier helpers (tests/testinfra) importable from every scenario."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "testinfra"))

# Tests marked real_product skip with reason "stand-in" on hosts that only have CI stand-ins.
from standin_skip import skip_real_product_on_standins  # noqa: F401
