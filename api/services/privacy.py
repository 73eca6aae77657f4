"""Personal data as people see it: the masking policy (per role and per output), masking the
API's, the pages' and the exports' data, and a supervisor revealing one call (audited, for a
limited time, in the session that asked).

The policy is the admin's (``AppSetting`` ``masking_policy``, changed at ``/admin/privacy`` or
``PUT /api/v1/privacy/policy``); for every role (agent, supervisor, admin) and output:

``pages``    the web pages (call page, call list, search results, case box, review queue,
             appeals, 我的质检 ``/me``, dashboard's late cases, topics, alerts)
``api``      the JSON API (call detail, call list, transcript, search, cases, findings, review
             queue, appeals, acknowledgements, topics, alerts, JSON reports)
``exports``  the Excel/CSV report files
``audio``    the recording: masked means the spans are beeped out (default off: beeping decodes
             the whole recording; ``?masked=1`` always beeps)

plus ``logs`` (a logging filter masks log messages, :class:`qa.pii.PiiLogFilter`: installed at
the start of the web app, ``ingest`` and ``worker`` by :func:`qa.pii.install_log_masking`,
which reads this setting once; a change here applies to the web process at once), the kinds
that are masked and how long a reveal lasts. Defaults: agents see everything masked;
supervisors and admins see pages and API unmasked and get masked export files.

A reveal (``POST /api/v1/calls/{id}/reveal``, supervisors and admins, calls they may see) is an
audit entry ``call.reveal`` holding the session's id: that entry is the grant, so it lasts
``reveal_minutes`` in that session only and nobody can reveal without leaving a trace.
"""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.security import is_supervisor
from api.services.audit import audit
from api.services.errors import Forbidden, Invalid
from models import AppSetting, AuditLog, User
from qa import pii

SETTING = pii.POLICY_SETTING
ROLES = ("agent", "supervisor", "admin")
OUTPUTS = ("pages", "api", "exports", "audio")
OUTPUT_NAMES = {"pages": "网页", "api": "接口（API）", "exports": "导出文件（Excel/CSV）",
                "audio": "录音（个人信息处蜂鸣）"}
ROLE_NAMES = {"agent": "客服人员", "supervisor": "质检主管", "admin": "管理员"}
KIND_NAMES = {"phone": "电话号码", "id_card": "身份证号", "bank_card": "银行卡号",
              "plate": "车牌号", "name": "姓名", "room": "房号地址"}
DEFAULT_POLICY: dict[str, Any] = {
    "roles": {"agent": {"pages": True, "api": True, "exports": True, "audio": False},
              "supervisor": {"pages": False, "api": False, "exports": True, "audio": False},
              "admin": {"pages": False, "api": False, "exports": True, "audio": False}},
    "logs": True,
    "kinds": list(pii.KINDS),
    "reveal_minutes": 15,
}
REVEAL_ACTION = "call.reveal"


def get_policy(db: Session) -> dict[str, Any]:
    """The masking policy in force: the stored one over the defaults."""
    row = db.get(AppSetting, SETTING)
    return _merge(row.value if row is not None else {})


def _merge(value: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(DEFAULT_POLICY)
    for role, outs in (value.get("roles") or {}).items():
        if role in out["roles"] and isinstance(outs, dict):
            out["roles"][role].update({k: bool(v) for k, v in outs.items() if k in OUTPUTS})
    if "logs" in value:
        out["logs"] = bool(value["logs"])
    if isinstance(value.get("kinds"), list):
        out["kinds"] = [k for k in pii.KINDS if k in value["kinds"]]
    if "reveal_minutes" in value:
        out["reveal_minutes"] = int(value["reveal_minutes"])
    return out


def validate(value: dict[str, Any]) -> dict[str, Any]:
    """A complete, checked policy from what an admin sent.

    Raises:
        Invalid: an unknown role, output or kind, or a reveal time outside 1–240 minutes.
    """
    if not isinstance(value, dict):
        raise Invalid("脱敏策略必须是 JSON 对象 / the policy must be an object")
    for role, outs in (value.get("roles") or {}).items():
        if role not in ROLES:
            raise Invalid(f"未知角色 / unknown role: {role}")
        if not isinstance(outs, dict) or any(k not in OUTPUTS for k in outs):
            raise Invalid(f"输出只能是 {'/'.join(OUTPUTS)} / outputs must be {', '.join(OUTPUTS)}")
    kinds = value.get("kinds")
    if kinds is not None and (not isinstance(kinds, list) or any(k not in pii.KINDS
                                                                 for k in kinds)):
        raise Invalid(f"信息类型只能是 {'/'.join(pii.KINDS)} / unknown kind")
    minutes = value.get("reveal_minutes", DEFAULT_POLICY["reveal_minutes"])
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 240:
        raise Invalid("查看明文的时长应为 1–240 分钟 / reveal_minutes must be 1-240")
    return _merge(value)


def set_policy(db: Session, user: User, value: dict[str, Any], ip: str | None = None
               ) -> dict[str, Any]:
    """Store a new policy (admins only; audited ``privacy.policy``); returns it."""
    if user.role != "admin":
        raise Forbidden("需要管理员权限 / admins only")
    policy = validate(value)
    row = db.get(AppSetting, SETTING) or AppSetting(name=SETTING)
    row.value, row.updated_by = policy, user.id
    db.add(row)
    audit(db, user, "privacy.policy", "setting", SETTING, policy, ip)
    pii.set_log_masking(policy["logs"])
    return policy


# --------------------------------------------------------------------------- reveal

def reveal(db: Session, user: User, call_id: str, session_id: int | None,
           ip: str | None = None) -> datetime:
    """Reveal one call's personal data to ``user`` in this session; returns until when.

    Raises:
        Forbidden: ``user`` is an agent.
        NotFound: the call is not visible to ``user``.
    """
    from api.services.calls import get_call
    if not is_supervisor(user):
        raise Forbidden("只有质检主管可以查看明文 / only supervisors may reveal personal data")
    get_call(db, user, call_id)
    minutes = get_policy(db)["reveal_minutes"]
    until = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    audit(db, user, REVEAL_ACTION, "call", call_id,
          {"session": session_id, "minutes": minutes, "until": until.isoformat()}, ip)
    return until


def revealed_until(db: Session, user: User, call_id: str, session_id: int | None,
                   policy: dict[str, Any] | None = None) -> datetime | None:
    """Until when ``call_id`` is revealed to ``user`` in this session, or None."""
    if not is_supervisor(user) or session_id is None:
        return None
    minutes = (policy or get_policy(db))["reveal_minutes"]
    now = datetime.now(timezone.utc)
    rows = db.scalars(select(AuditLog).where(
        AuditLog.action == REVEAL_ACTION, AuditLog.object_type == "call",
        AuditLog.object_id == call_id, AuditLog.user_id == user.id)
        .order_by(AuditLog.id.desc()).limit(50))
    for r in rows:
        at = r.at if r.at.tzinfo else r.at.replace(tzinfo=timezone.utc)
        until = at + timedelta(minutes=minutes)
        if until <= now:
            break
        if (r.details or {}).get("session") == session_id:
            return until
    return None


class Masking:
    """Whether one user's view of one output is masked, and the masking itself.

    ``Masking.for_user(db, user, "api", call_id=…, session_id=…)``; ``masked`` is False for a
    call revealed in this session."""

    def __init__(self, masked: bool, kinds: list[str], revealed_until: datetime | None = None):
        self.masked, self.kinds, self.revealed_until = masked, list(kinds), revealed_until

    @classmethod
    def for_user(cls, db: Session, user: User, output: str, *, call_id: str | None = None,
                 session_id: int | None = None) -> "Masking":
        policy = get_policy(db)
        masked = bool(policy["roles"].get(user.role, policy["roles"]["agent"]).get(output, True))
        until = None
        if masked and call_id is not None:
            until = revealed_until(db, user, call_id, session_id, policy)
            masked = until is None
        return cls(masked, policy["kinds"], until)

    def text(self, s: str | None) -> str | None:
        return pii.mask(s, kinds=self.kinds) if self.masked and s else s

    def number(self, s: str | None) -> str | None:
        return pii.mask_number(s) if self.masked and "phone" in self.kinds else s

    def fields(self, d: dict[str, Any], *keys: str) -> dict[str, Any]:
        """A copy of ``d`` whose text fields ``keys`` (those it has) went through :meth:`text`."""
        return {**d, **{k: self.text(d[k]) for k in keys if isinstance(d.get(k), str)}}

    def summary(self, c: dict[str, Any] | None) -> dict[str, Any] | None:
        """A call-list row (:func:`api.services.calls.summary`): the caller's number, also
        where the recorder put it in the file name."""
        if not self.masked or not c:
            return c
        number = c.get("caller_number")
        out = {**c, "caller_number": self.number(number)}
        if number and c.get("filename") and "phone" in self.kinds:
            out["filename"] = c["filename"].replace(number, self.number(number))
        return out

    def case(self, v: dict[str, Any] | None) -> dict[str, Any] | None:
        """A case view (:func:`qa.cases.case_view`): caller, room, matter, promises."""
        if not self.masked or not v:
            return v
        out = {**v, "caller_number": self.number(v.get("caller_number")),
               "matter": self.text(v.get("matter"))}
        if v.get("room") and "room" in self.kinds:
            out["room"] = pii.mask_value("room", v["room"])
        if v.get("promises"):
            out["promises"] = [{**p, "text": self.text(p.get("text"))} for p in v["promises"]]
        return out

    def detail(self, d: dict[str, Any]) -> dict[str, Any]:
        """The call detail (:func:`api.services.calls.detail`): transcript, metadata, the
        findings' evidence and messages, the case."""
        if not self.masked:
            return d
        out = dict(self.summary(d))
        out["metadata"] = {**(d.get("metadata") or {})}
        if out["metadata"].get("caller_number"):
            out["metadata"]["caller_number"] = self.number(out["metadata"]["caller_number"])
        out["transcript"] = pii.mask_transcript(d.get("transcript"), self.kinds)
        out["findings"] = [self.finding(f) for f in d.get("findings") or []]
        out["acknowledgements"] = [self.fields(a, "comment")
                                   for a in d.get("acknowledgements") or []]
        out["case"] = self.case(d.get("case"))
        return out

    def finding(self, f: dict[str, Any]) -> dict[str, Any]:
        """A finding (as in the call detail): message, evidence quotes, the quotes its acts
        rest on, review comments, appeals."""
        if not self.masked or not f:
            return f
        out = self.fields(f, "message", "review_comment")
        out["evidence"] = [self.fields(e, "text") if isinstance(e, dict) else e
                           for e in f.get("evidence") or []]
        extra = f.get("extra")
        if isinstance(extra, dict) and extra.get("acts"):
            out["extra"] = {**extra, "acts": [self.fields(a, "text") if isinstance(a, dict)
                                              else a for a in extra["acts"]]}
        if f.get("appeals"):
            out["appeals"] = [self.appeal(a) for a in f["appeals"]]
        if f.get("reviews"):
            out["reviews"] = [self.fields(r, "comment") for r in f["reviews"]]
        return out

    def appeal(self, a: dict[str, Any]) -> dict[str, Any]:
        """An appeal (:func:`api.services.calls.appeal_public`): the reason and the reply,
        which may quote the caller."""
        return self.fields(a, "reason", "reply") if self.masked and a else a

    def alert(self, a: dict[str, Any]) -> dict[str, Any]:
        """An alert (:func:`api.services.alerts.list_alerts`): its title (an overdue case's
        estate and room) and a promise's text in the details."""
        if not self.masked or not a:
            return a
        return {**self.fields(a, "title"), "details": self.fields(a.get("details") or {},
                                                                     "text")}

    def topics(self, week: dict[str, Any]) -> dict[str, Any]:
        """A week's call-reason topics (:meth:`qa.call_reasons.WeekTopics.to_dict`): the
        callers' reasons quoted as examples."""
        if not self.masked or not week:
            return week

        def examples(xs: Any) -> list[list[Any]]:
            return [[cid, self.text(text)] for cid, text in xs or []]

        rem = week.get("remainder")
        return {**week, "topics": [{**t, "examples": examples(t.get("examples"))}
                                   for t in week.get("topics") or []],
                "remainder": rem and {**rem, "examples": examples(rem.get("examples"))}}

    def search(self, result: dict[str, Any]) -> dict[str, Any]:
        """Search hits (:func:`api.services.search.search`): text, highlighted segments (the
        masks keep the length, so the hit offsets stay right) and the calls."""
        if not self.masked or not result:
            return result
        items = []
        for it in result.get("items") or []:
            text = it.get("text") or ""
            masked = self.text(text) or ""
            segs, pos = [], 0
            for s in it.get("segments") or []:
                n = len(s.get("text") or "")
                segs.append({**s, "text": masked[pos:pos + n]})
                pos += n
            items.append({**it, "text": masked, "segments": segs,
                          "call": self.summary(it.get("call"))})
        return {**result, "items": items}


def mask_report(doc: Any) -> Any:
    """A report document (:class:`qa.reports.ReportDocument`) with every text cell masked and
    the caller-number columns masked as phone numbers (a copy)."""
    doc = copy.deepcopy(doc)
    for t in doc.tables:
        for row in t.rows:
            for k, v in list(row.items()):
                if isinstance(v, str) and v:
                    if k in ("caller", "caller_number"):
                        row[k] = pii.mask_number(v)
                    elif k == "room":
                        row[k] = pii.mask_value("room", v)
                    else:
                        row[k] = pii.mask(v)
    return doc


MASKED_AUDIO_KEEP_S = 24 * 3600  # a beeped copy not asked for in a day is removed


def beeped_audio(db: Session, user: User, call_id: str, path: Path, settings: Any) -> Path:
    """The call's recording with its transcript's personal data beeped out (16-bit WAV),
    made once per recording and transcript and kept under ``<home>/masked-audio``; making one
    removes the call's older copies and any copy (or leftover ``.part``) not asked for in
    :data:`MASKED_AUDIO_KEEP_S`."""
    import hashlib
    import json

    from api.services.calls import detail
    from qa.pii_audio import beep_file
    transcript = detail(db, user, call_id, settings).get("transcript") or {}
    kinds = get_policy(db)["kinds"]
    key = hashlib.sha256(json.dumps([str(path), path.stat().st_mtime, kinds, transcript],
                                    ensure_ascii=False, sort_keys=True, default=str)
                         .encode()).hexdigest()[:16]
    folder = Path(settings.home) / "masked-audio"
    out = folder / f"{call_id}-{key}.wav"
    if out.is_file():
        out.touch()  # asked for: kept another day
        return out
    beep_file(path, transcript, out, kinds=kinds, agent_channel=settings.agent_channel)
    _prune_masked_audio(folder, call_id, out)
    return out


def _prune_masked_audio(folder: Path, call_id: str, keep: Path) -> None:
    import time
    old = time.time() - MASKED_AUDIO_KEEP_S
    for p in folder.iterdir():
        try:
            stale = p.name.rsplit("-", 1)[0] == call_id and p.suffix == ".wav"
            if p != keep and (stale or p.stat().st_mtime < old):
                p.unlink()
        except FileNotFoundError:  # another request removed it first
            pass
