"""Shared by every scenario's verifier. Its helpers (tests/testinfra: alur_probe, elastic_probe, ...) are on the
path through pyproject's pytest pythonpath, which Molecule's pytest run reads too."""

# Tests marked real_product skip with reason "stand-in" on hosts that only have CI stand-ins.
from standin_skip import skip_real_product_on_standins  # noqa: F401
