"""A module that fails at import with a KeyError where ``$WFC_TEST_POISON_IMPORT`` is set.

As a module that reads a missing environment variable at import: the test process
(where it is unset) can submit its calculation, the workers (where it is set) cannot
import it. Issue 12, item 3: that must except the process, not loop the workers.
"""

from __future__ import annotations

import os

from reference_engine import calculation

if os.environ.get("WFC_TEST_POISON_IMPORT"):
    raise KeyError("WFC_TEST_REQUIRED_SETTING")


@calculation
def fine(value: object) -> dict[str, object]:
    return {"value": value}
