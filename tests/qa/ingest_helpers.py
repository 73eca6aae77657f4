"""A stand-in analyzer for the ingestion/worker tests (settings ``analyzer``).

It decodes audio for real (so bad files fail exactly as in production) and reads transcript
JSON for real, but skips ASR and rules: it returns a small fixed set of findings (:data:`FINDINGS`)
scored by the product's scorer (:func:`qa.scoring.score_findings`, with the form the worker
passes, as :func:`qa.engine.analyze` does). With the shipped form that is score 80.0, a red
line (PO03 deducts 20) and one fail routed to review (CP01, under ``review_confidence``, deducts
nothing). Metadata steers it:
``sleep`` (seconds, to be killed mid-job), ``die`` (the worker process kills itself with
SIGKILL, as the kernel's OOM killer would) and ``flaky`` (fail with a transient error until
attempt N, counted in ``$HOTLINE_QA_HOME/flaky``). Every run is counted per file in
``$HOTLINE_QA_HOME/analyzed`` (:func:`runs`), so tests can tell whether a file was analysed
again.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from qa.records import Evidence, Finding, Report, Transcript, Utterance
from qa.scoring import load_form, score_findings
from qa.settings import Settings

#: (code, status, confidence, message) of the findings :func:`fake_analyzer` reports, in order;
#: ``deduction`` / ``needs_review`` are the scorer's
FINDINGS = (("GR02", "pass", 0.97, None),
            ("PO03", "fail", 0.9, "与客户争执"),      # confident: deducts, a red line
            ("CP01", "fail", 0.6, "投诉应对方式不当"))  # under review_confidence: to review


def settings_for(tmp_path: Path, db_url: str, **kw) -> Settings:
    """Settings of a test service in ``tmp_path/home`` analysing with :func:`fake_analyzer`,
    with short waits (``kw`` overrides)."""
    base = dict(home=tmp_path / "home", database_url=db_url,
                analyzer="ingest_helpers:fake_analyzer", stable_s=0.2, sidecar_wait_s=0.3,
                rescan_s=1.0, retry_backoff_s=0.2, job_lease_s=5.0, job_max_attempts=3,
                workers=1)
    base.update(kw)
    return Settings(**base)


def runs(name: str | None = None) -> int:
    """How many times :func:`fake_analyzer` analysed a file called ``name`` (any file: None)."""
    folder = Path(os.environ["HOTLINE_QA_HOME"]) / "analyzed"
    files = [folder / name] if name else (list(folder.iterdir()) if folder.is_dir() else [])
    return sum(int(f.read_text()) for f in files if f.exists())


def fake_analyzer(path: Path, metadata: dict, media_type: str, form=None) -> Report:
    t0 = time.perf_counter()
    counter = Path(os.environ["HOTLINE_QA_HOME"]) / "analyzed" / Path(path).name
    counter.parent.mkdir(parents=True, exist_ok=True)
    counter.write_text(str(runs(Path(path).name) + 1))
    if media_type == "audio":
        from transcribe.audio import decode
        audio = decode(path)
        duration = float(getattr(audio, "duration", 0.0) or 0.0)
        tr = Transcript(utterances=[Utterance("agent", 0.0, 1.0, "您好，阳光物业")],
                        duration=duration, metadata=dict(metadata))
    else:
        tr = Transcript.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        tr.metadata = {**tr.metadata, **metadata}
    meta = tr.metadata
    if meta.get("die"):
        os.kill(os.getpid(), signal.SIGKILL)
    if meta.get("flaky"):
        counter = Path(os.environ["HOTLINE_QA_HOME"]) / "flaky" / Path(path).name
        counter.parent.mkdir(parents=True, exist_ok=True)
        n = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(n))
        if n < int(meta["flaky"]):
            raise ConnectionError(f"flaky attempt {n}")
    if meta.get("sleep"):
        time.sleep(float(meta["sleep"]))
    rules = [Finding(code, status, conf, msg,
                     [Evidence("agent", 0.0, 1.0, "您好")] if status == "fail" else [])
             for code, status, conf, msg in FINDINGS]
    scoring_form = load_form(form)
    s = score_findings(rules, scoring_form)
    return Report(call_id=None, score=round(s.score, 1), red_line=s.red_line, rules=rules,
                  transcript=tr, call_type="complaint", complaint_type="vent",
                  complaint_confidence=0.8,
                  extra={"needs_review": bool(s.needs_review), "score_breakdown": s.breakdown,
                         "form": {"name": scoring_form.name, "version": scoring_form.version},
                         "call_type_confidence": 0.9,
                         "timings": {"rules": round(time.perf_counter() - t0, 4)}})
