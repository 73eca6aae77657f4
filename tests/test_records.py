import json

import pytest

from qa.records import Finding, Report, Transcript, TranscriptFormatError


def test_truth_transcripts_round_trip(truth_files):
    assert len(truth_files) == 40
    for path in truth_files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc.pop("labels")
        doc.pop("title", None)
        t = Transcript.from_dict(doc)
        again = t.to_dict()
        # title/labels popped; every other key comes back exactly
        assert again == doc, path.name


def test_unknown_metadata_is_kept():
    t = Transcript.from_dict({"metadata": {"x_pbx_line": 7}, "utterances": []})
    assert t.to_dict()["metadata"] == {"x_pbx_line": 7}


@pytest.mark.parametrize("bad,needle", [
    ({"utterances": [{"speaker": "boss", "start": 0, "end": 1, "text": "x"}]}, "speaker"),
    ({"utterances": [{"speaker": "agent", "start": 2, "end": 1, "text": "x"}]}, "before"),
    ({"utterances": [{"speaker": "agent", "start": "a", "end": 1, "text": "x"}]}, "number"),
    ({"utterances": "no"}, "list"),
])
def test_bad_transcripts_name_the_problem(bad, needle):
    with pytest.raises(TranscriptFormatError, match=needle):
        Transcript.from_dict(bad)


def test_report_round_trip():
    t = Transcript.from_dict({"utterances": [
        {"speaker": "agent", "start": 0.5, "end": 1.0, "text": "您好"}]})
    r = Report(call_id="c1", score=95.0, red_line=False, transcript=t, rules=[
        Finding("GR02", "fail", 0.9, "未自报家门", deduction=5)])
    assert Report.from_dict(json.loads(json.dumps(r.to_dict()))).to_dict() == r.to_dict()
