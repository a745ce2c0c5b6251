import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example"
SHARED = ROOT.parent / "shared" / "reference" / "data"


@pytest.fixture
def hand_study(tmp_path):
    from studies import write_study

    return write_study(tmp_path / "study")
