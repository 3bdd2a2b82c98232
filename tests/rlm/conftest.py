"""The RLM tests run code in the process sandbox, which needs Linux."""

from __future__ import annotations

import sys

import pytest

if not sys.platform.startswith("linux"):
    pytest.skip("the process sandbox runs on Linux", allow_module_level=True)
