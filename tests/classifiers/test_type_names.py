"""The call-type and complaint-type names have one home (classifiers.records), taken from the
rule catalogue, and every place that shows them uses it."""
from __future__ import annotations

import re
from pathlib import Path

from classifiers.records import CALL_TYPE_ZH, CALL_TYPES, COMPLAINT_TYPE_ZH, COMPLAINT_TYPES

RULES_MD = Path(__file__).resolve().parents[2].parent / "shared" / "docs" / "RULES.md"


def test_names_cover_the_types_and_agree_with_the_catalogue():
    assert tuple(CALL_TYPE_ZH) == CALL_TYPES and tuple(COMPLAINT_TYPE_ZH) == COMPLAINT_TYPES
    if RULES_MD.is_file():  # the catalogue: `inquiry` (咨询/查询), `vent` 纯粹是为了发泄
        text = RULES_MD.read_text(encoding="utf-8")
        for code, zh in CALL_TYPE_ZH.items():
            if code != "other":
                assert f"`{code}` ({zh})" in text, code
        for code, zh in COMPLAINT_TYPE_ZH.items():  # short forms: 纯粹发泄 of 纯粹是为了发泄
            full = re.search(rf"`{code}` (\S+)", text).group(1)
            assert re.search(".*".join(zh), full), (code, zh, full)


def test_pages_reports_and_rules_show_the_same_names():
    from api import templating
    from qa import reports
    assert templating.CALL_TYPES is CALL_TYPE_ZH
    assert templating.COMPLAINT_TYPES is COMPLAINT_TYPE_ZH
    assert {k: v for k, v in reports.COMPLAINT_TYPE_ZH.items() if k} == COMPLAINT_TYPE_ZH
    js = (Path(templating.__file__).parent / "static" / "dashboard.js").read_text("utf-8")
    assert "为了某种期待" not in js and "咨询" not in js  # read from the page, not repeated
