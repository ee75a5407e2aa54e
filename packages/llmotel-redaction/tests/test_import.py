"""``import llmotel.redaction`` stays light: Presidio and spaCy load with the first Redactor."""

from __future__ import annotations

import json
import subprocess
import sys

_HEAVY = ("spacy", "presidio_analyzer", "phonenumbers", "tldextract", "thinc")


def _loaded_after(code: str) -> dict[str, bool]:
    script = (
        f"import sys\n{code}\nimport json\n"
        f"print(json.dumps({{m: m in sys.modules for m in {_HEAVY!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_package_loads_nothing_heavy() -> None:
    assert _loaded_after("import llmotel.redaction") == dict.fromkeys(_HEAVY, False)


def test_the_first_redactor_loads_presidio() -> None:
    loaded = _loaded_after(
        "from llmotel.redaction import Redactor\n"
        "assert Redactor().redact_text('a@example.com') == '<EMAIL_ADDRESS>'"
    )
    assert loaded["presidio_analyzer"] is True
    assert loaded["spacy"] is True  # presidio-analyzer imports it, even with no model
