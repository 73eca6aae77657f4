"""Pydantic schemas of the REST API, one per direction (``…Create``/``…Update`` in,
``…Public`` out), separate from the ORM classes in :mod:`models`."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.tables import ALERT_CHANNEL_KINDS
from qa.alerts import EVENT_KINDS
from qa.pii import KINDS as PII_KINDS

Role = Literal["admin", "supervisor", "agent"]
CallType = Literal["complaint", "repair", "inquiry", "suggestion", "other"]
ComplaintType = Literal["resolve", "vent", "expectation"]
FollowUp = Literal["open", "in_progress", "resolved"]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- auth ---------------------------------------------------------------------------------------

class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=150, description="用户名")
    password: str = Field(min_length=1, max_length=500, description="密码")


class PasswordChange(BaseModel):
    old_password: str = Field(min_length=1, max_length=500)
    new_password: str = Field(min_length=8, max_length=500, description="至少 8 个字符")


class UserPublic(Out):
    id: int
    username: str
    role: Role
    agent_id: str | None = None
    display_name: str | None = None
    active: bool
    created_at: datetime | None = None
    last_login_at: datetime | None = None
    password_one_time: bool = Field(
        False, description="true: a one-time password the user must change before anything else")


class SessionPublic(BaseModel):
    user: UserPublic
    csrf_token: str | None = Field(None, description="Send back as X-CSRF-Token on writes")


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


# --- users, agents ------------------------------------------------------------------------------

class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=150, pattern=r"^[\w.@-]+$")
    password: str = Field(min_length=8, max_length=500)
    role: Role
    agent_id: str | None = Field(None, max_length=64)
    display_name: str | None = Field(None, max_length=200)


class UserUpdate(BaseModel):
    role: Role | None = None
    agent_id: str | None = Field(None, max_length=64)
    display_name: str | None = Field(None, max_length=200)
    active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=500)


class AgentPublic(Out):
    id: str
    name: str
    team: str | None = None
    active: bool


class AgentCreate(BaseModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")
    name: str = Field("", max_length=200)
    team: str | None = Field(None, max_length=200)


# --- calls ----------------------------------------------------------------------------------------

class AcknowledgementCreate(BaseModel):
    comment: str | None = Field(None, max_length=2000, description="签收意见（可选）")


class AcknowledgementPublic(BaseModel):
    id: int
    call_id: str
    agent_id: str | None = None
    comment: str | None = None
    at: datetime
    user: str | None = None


class AcknowledgementStatus(BaseModel):
    agent_id: str
    agent_name: str | None = None
    scored_calls: int
    acknowledged: int
    missing: list[str]


class CaseDeadline(BaseModel):
    name: str
    label: str
    due_at: datetime
    met: bool
    overdue: bool


class CaseCallLink(BaseModel):
    call_id: str
    reason: str
    started_at: datetime | None = None


class CasePromisePublic(BaseModel):
    id: int
    call_id: str | None = None
    text: str
    due_at: datetime
    state: Literal["open", "kept", "broken"]


class CasePublic(BaseModel):
    """A complaint or repair case: deadlines (overdue when passed unmet), its calls, the
    agent's dated promises (broken when due without a call-back)."""

    id: int
    kind: str
    trade: str | None = None
    state: Literal["open", "in_progress", "resolved", "closed"]
    caller_number: str | None = None
    room: str | None = None
    estate: str | None = None
    agent_id: str | None = None
    matter: str = ""
    opened_at: datetime
    resolved_at: datetime | None = None
    called_back_at: datetime | None = None
    deadlines: list[CaseDeadline]
    overdue: bool
    broken_promises: int
    calls: list[CaseCallLink]
    promises: list[CasePromisePublic]


class CaseUpdate(BaseModel):
    state: Literal["open", "in_progress", "resolved", "closed"] | None = None
    called_back: bool | None = Field(None, description="已回访客户（记录回访时间为现在）")


class HolidayPublic(BaseModel):
    day: date
    name: str = ""
    working: bool = False


class CallSummary(Out):
    id: str
    filename: str
    agent_id: str | None = None
    agent_name: str | None = None
    caller_number: str | None = None
    started_at: datetime | None = None
    duration: float | None = None
    status: str
    score: float | None = None
    red_line: bool | None = None
    call_type: str | None = None
    complaint_type: str | None = None
    needs_review: bool = False
    scenario: str | None = None
    estate: str | None = None
    follow_up_status: str | None = None
    failed_rules: list[str] = []
    pending_reviews: int = 0
    #: the machine's verdicts are hidden: the user scores this call blind in an open
    #: calibration session (score, red line and failed rules left empty until they submit)
    blind: bool = False


class CallPage(BaseModel):
    items: list[CallSummary]
    total: int
    page: int
    page_size: int


class SearchSegment(BaseModel):
    text: str
    hit: bool


class SearchHit(BaseModel):
    """One utterance that matches the query: its place in the call, the text cut into
    highlighted segments, ``fuzzy`` when found only by sound, the call's key facts, and the
    call page at that second (``url``)."""

    utterance_id: int
    call_id: str
    idx: int
    speaker: str
    start: float
    end: float
    text: str
    fuzzy: bool
    spans: list[list[int]]
    segments: list[SearchSegment]
    call: CallSummary | None = None
    url: str


class SearchPage(BaseModel):
    query: str
    sound: bool
    speaker: str | None = None
    items: list[SearchHit]
    total: int
    calls: int
    page: int
    page_size: int
    warning: str | None = None


class MonitorCreate(BaseModel):
    """A saved search to count over time (关注词)."""

    name: str | None = Field(None, max_length=100, description="名称，默认为搜索词")
    query: str = Field(min_length=1, max_length=500, description="搜索词（与搜索相同的写法）")
    sound: bool = False
    speaker: Literal["agent", "customer"] | None = None
    filters: dict[str, str] = Field(default_factory=dict, description=(
        "可选：agent_id, estate, scenario, call_type, complaint_type"))
    alert_calls: int | None = Field(None, ge=0, le=100_000, description=(
        "一天内提到它的通话达到此数时告警；0 为不告警；不填用系统设置（alert_monitor_calls）"))


class MonitorPublic(BaseModel):
    id: int
    name: str
    query: str
    sound: bool
    speaker: str | None = None
    filters: dict[str, Any] = {}
    active: bool = True
    alert_calls: int | None = None
    created_at: datetime | None = None
    weeks: list[str] | None = None
    counts: list[int] | None = None
    current: int | None = None
    baseline: float | None = None
    rising: bool | None = None


class MonitorCounts(BaseModel):
    monitor: MonitorPublic
    bucket: str
    by: str | None = None
    labels: list[str]
    counts: list[int]
    breakdown: dict[str, list[int]] = {}
    calls: int


class TopicPublic(BaseModel):
    """A call-reason topic of a week: its title (a supervisor's name, else the top terms),
    size, share of the week's reasons, change from the week before, examples."""

    key: str
    label: str
    name: str | None = None
    title: str
    size: int
    share: float
    terms: list[tuple[str, float]]
    vector: dict[str, float]
    call_ids: list[str]
    examples: list[tuple[str, str]]
    estate: str | None = None
    merged_keys: list[str] = []
    status: Literal["new", "growing", "shrinking", "steady"]
    status_zh: str
    previous_size: int | None = None


class TopicRemainder(BaseModel):
    size: int
    share: float
    examples: list[tuple[str, str]]


class TopicWeek(BaseModel):
    week: str
    previous_week: str
    estate: str | None = None
    reasons: int
    previous_reasons: int
    topics: list[TopicPublic]
    remainder: TopicRemainder | None = None
    disappeared: list[dict[str, Any]] = []


class TopicNameCreate(BaseModel):
    """Name a topic (its ``vector`` is the signature later weeks are matched by), or merge
    ``others`` into it under ``name``."""

    name: str = Field(min_length=1, max_length=100)
    vector: dict[str, float] = Field(min_length=1, max_length=100)
    others: list[dict[str, float]] = Field(default_factory=list, max_length=20)


class TopicNamePublic(BaseModel):
    id: int
    name: str
    merged_into: str | None = None
    terms: dict[str, float]


class AppealPublic(Out):
    id: int
    finding_id: int
    call_id: str
    agent_id: str | None = None
    reason: str
    state: str
    reply: str | None = None
    created_at: datetime | None = None
    decided_at: datetime | None = None
    rule_code: str | None = None


class ReviewPublic(Out):
    id: int
    finding_id: int | None = None
    decision: str
    comment: str | None = None
    reviewer: str | None = None
    created_at: datetime | None = None


class FindingPublic(Out):
    id: int
    call_id: str
    code: str
    name: str | None = None
    status: str
    confidence: float
    deduction: float
    needs_review: bool
    red_line: bool
    message: str | None = None
    evidence: list[dict[str, Any]] = []
    extra: dict[str, Any] | None = None
    review_state: str
    review_comment: str | None = None
    reviewed_at: datetime | None = None
    appeals: list[AppealPublic] = []
    reviews: list[ReviewPublic] = []


class ClassificationPublic(Out):
    id: int
    kind: str
    call_type: str
    call_type_confidence: float | None = None
    complaint_type: str | None = None
    complaint_confidence: float | None = None
    cues: list[Any] | None = None
    comment: str | None = None
    created_at: datetime | None = None


class ScorePublic(Out):
    id: int
    form_name: str | None = None
    form_version: str | None = None
    score: float
    red_line: bool
    breakdown: dict[str, Any] | None = None
    current: bool
    reason: str | None = None
    created_at: datetime | None = None


class CallDetail(CallSummary):
    metadata: dict[str, Any] = {}
    result_available_at: datetime | None = None
    appeal_deadline: datetime | None = None
    can_appeal: bool = False
    effective_score: float | None = None
    transcript: dict[str, Any] | None = None
    findings: list[FindingPublic] = []
    classifications: list[ClassificationPublic] = []
    scores: list[ScorePublic] = []
    audio_url: str | None = None
    error: str | None = None
    review_reasons: list[str] = Field(
        default_factory=list, description="需人工确认的原因（如单声道说话人区分不确定）")
    acknowledgements: list[AcknowledgementPublic] = Field(
        default_factory=list, description="客服签收记录")
    case: CasePublic | None = Field(None, description="本通电话所属的投诉/报修跟进案件")


class ClassificationCorrection(BaseModel):
    call_type: CallType
    complaint_type: ComplaintType | None = None
    comment: str | None = Field(None, max_length=2000)

    @field_validator("complaint_type")
    @classmethod
    def _complaint_only(cls, v: str | None, info: Any) -> str | None:
        if v is not None and info.data.get("call_type") != "complaint":
            raise ValueError("只有投诉电话才有投诉类型 / complaint_type needs call_type complaint")
        return v


class FollowUpUpdate(BaseModel):
    follow_up_status: FollowUp | None = None
    scenario: str | None = Field(None, max_length=100)
    estate: str | None = Field(None, max_length=200)
    comment: str | None = Field(None, max_length=2000)


class CommentCreate(BaseModel):
    comment: str = Field(min_length=1, max_length=2000, description="备注")


class UploadAccepted(BaseModel):
    call_id: str
    status: str
    duplicate: bool = False
    message: str


class ReanalysisResult(BaseModel):
    """What a re-analysis changed."""

    call_id: str
    score_before: float | None = None
    score: float | None = None
    red_line: bool = False
    changed: list[str] = Field(default_factory=list, description="规则结论改变的规则代码")
    kept_reviews: list[str] = Field(default_factory=list,
                                    description="保留了复核/申诉结果的规则代码")
    seconds: float


# --- review, appeals ------------------------------------------------------------------------------

class ReviewCreate(BaseModel):
    decision: Literal["uphold", "overturn"]
    comment: str | None = Field(None, max_length=2000)


class AppealCreate(BaseModel):
    reason: str = Field(min_length=2, max_length=4000, description="申诉理由")


class AppealDecision(BaseModel):
    decision: Literal["accept", "reject"]
    reply: str = Field(min_length=1, max_length=4000, description="答复")


class QueueItem(BaseModel):
    call: CallSummary
    reason: Literal["red_line", "low_confidence", "speaker_uncertain", "sample"]
    finding_ids: list[int] = []


# --- assessments, rules, forms, audit ---------------------------------------------------------

class RedLinePublic(BaseModel):
    call_id: str
    code: str
    state: str
    finding_id: int | None = None
    started_at: datetime | None = None


class AssessmentPublic(BaseModel):
    agent_id: str
    month: str
    agent_name: str | None = None
    team: str | None = None
    calls: int
    scored_calls: int
    average_score: float | None = None
    grade: str | None = None
    grade_by_score: str | None = None
    red_lines: list[RedLinePublic] = []
    red_lines_pending: int = 0
    red_lines_confirmed: int = 0
    red_lines_overturned: int = 0
    pending_reviews: int = 0
    fail_rates: dict[str, dict[str, float]] = {}
    closed: bool = False
    outlook: str = ""


#: At most this many agents in one request to close a month (none: every agent of the month).
CLOSE_MAX_AGENTS = 1000


class CloseMonth(BaseModel):
    agent_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, max_length=CLOSE_MAX_AGENTS,
        description=f"只关这些客服（最多 {CLOSE_MAX_AGENTS} 个；不填则全部）/ only these agents "
                    f"(at most {CLOSE_MAX_AGENTS}; default: every agent of the month)")


class RulePublic(BaseModel):
    code: str
    name: str
    family: str
    red_line: bool
    summary: str
    doc: str
    weight: float | None = None


class FormCreate(BaseModel):
    yaml_text: str = Field(min_length=1, max_length=200_000, description="评分表 YAML")
    activate: bool = False


class FormPublic(Out):
    id: int
    name: str
    version: int
    sha256: str
    active: bool
    created_at: datetime | None = None
    yaml_text: str | None = None


class AuditPublic(Out):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str | None = None
    object_id: str | None = None
    details: dict[str, Any] | None = None


# --- errors (what api.app's exception handlers send; api.openapi documents them) -----------------

class ErrorPublic(BaseModel):
    """The body of every error answer (4xx) but a validation error."""

    detail: str = Field(description="给人看的说明（中文在前，斜杠后英文）/ a human message, "
                                    "Chinese first")


class FieldError(BaseModel):
    field: str = Field(description="出错的参数或字段，如 page、agent_ids.0；空：整个请求 / the "
                                   "parameter or field (dotted path); empty: the whole request")
    message: str = Field(description="给人看的说明 / a human message")
    type: str | None = Field(None, description="错误类别，如 missing、string_too_long / the kind")


class ValidationErrorPublic(BaseModel):
    """The body of a 422: one entry per invalid parameter or field, or (a check beyond the
    schema, e.g. ``date_from`` after ``date_to``) one message."""

    detail: list[FieldError] | str


# --- privacy ------------------------------------------------------------------------------------

class MaskingPolicy(BaseModel):
    """The masking policy: per role (agent, supervisor, admin) and output (pages, api, exports,
    audio) whether personal data is masked; the log filter; the kinds masked; how long a
    supervisor's reveal lasts."""

    roles: dict[str, dict[str, bool]] = Field(
        default_factory=dict, examples=[{"agent": {"pages": True, "api": True,
                                                   "exports": True, "audio": False}}])
    logs: bool = True
    kinds: list[str] = Field(default_factory=lambda: list(PII_KINDS))
    reveal_minutes: int = Field(15, ge=1, le=240)


class RevealPublic(BaseModel):
    call_id: str
    revealed_until: datetime
    minutes: int


# --- alerts (告警) ------------------------------------------------------------------------------

AlertKind = Literal[EVENT_KINDS]
ChannelKind = Literal[ALERT_CHANNEL_KINDS]


class AlertPublic(BaseModel):
    """An alert event: what happened, about which call (the title never holds the caller's
    number)."""

    id: int
    kind: str
    kind_name: str
    title: str
    call_id: str | None = None
    agent_id: str | None = None
    estate: str | None = None
    details: dict[str, Any] = {}
    created_at: datetime
    unseen: bool = False
    deliveries: dict[str, int] = Field(default_factory=dict,
                                       description="投递状态计数 / deliveries per state")


class AlertList(BaseModel):
    items: list[AlertPublic]
    unseen: int = Field(description="未读告警数 / alerts newer than the last seen one")
    last_seen_id: int


class AlertUnseen(BaseModel):
    unseen: int


class AlertSeenUpdate(BaseModel):
    last_event_id: int | None = Field(None, ge=0, le=2_147_483_647,
                                      description="看到哪一条为止（默认最新）")


class AlertChannelCreate(BaseModel):
    """A place alerts go. ``secret``: the DingTalk / Feishu signing secret, the webhook's HMAC
    key or the SMTP password (stored encrypted, never shown again)."""

    name: str = Field(min_length=1, max_length=100)
    kind: ChannelKind
    target: str = Field(min_length=1, max_length=2000,
                        description="机器人/Webhook 地址，或逗号分隔的收件邮箱")
    secret: str | None = Field(None, max_length=500)
    events: list[AlertKind] = Field(default_factory=lambda: ["red_line"], max_length=5)
    teams: list[str] = Field(default_factory=list, max_length=100,
                             description="只发这些班组的（空：全部）")
    estates: list[str] = Field(default_factory=list, max_length=200,
                               description="只发这些小区的（空：全部）")
    options: dict[str, Any] = Field(default_factory=dict, description=(
        "format (markdown/text/post), mode (immediate/daily), max_per_minute, digest_hour, "
        "smtp_host, smtp_port, smtp_user, smtp_starttls, smtp_from"))
    active: bool = True


class AlertChannelUpdate(BaseModel):
    """Only the fields given change; ``secret: ""`` removes the secret."""

    name: str | None = Field(None, min_length=1, max_length=100)
    target: str | None = Field(None, min_length=1, max_length=2000)
    secret: str | None = Field(None, max_length=500)
    events: list[AlertKind] | None = Field(None, max_length=5)
    teams: list[str] | None = Field(None, max_length=100)
    estates: list[str] | None = Field(None, max_length=200)
    options: dict[str, Any] | None = None
    active: bool | None = None


class AlertChannelPublic(BaseModel):
    id: int
    name: str
    kind: str
    kind_name: str
    target: str
    secret: str | None = Field(None, description="打码显示 / masked, e.g. SEC…f3a9")
    events: list[str]
    teams: list[str]
    estates: list[str]
    options: dict[str, Any]
    active: bool
    created_at: datetime
    deliveries: dict[str, int] = {}


class AlertTestResult(BaseModel):
    ok: bool
    status: int | None = None
    error: str | None = None


# --- rule studio (规则工作室) ----------------------------------------------------------------------

class RuleVersionCreate(BaseModel):
    yaml_text: str = Field(min_length=1, max_length=100_000,
                           description="规则文档（YAML 或 JSON）：自定义规则 code/name/passes_when，"
                                       "或修改内置规则 override/settings")
    comment: str | None = Field(None, max_length=500, description="本版说明")


class RuleVersionPublic(BaseModel):
    code: str
    version: int
    sha256: str
    name: str
    red_line: bool
    weight: float | None = None
    comment: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    active: bool
    yaml_text: str | None = None


class RuleDocumentPublic(BaseModel):
    code: str
    kind: Literal["custom", "override"]
    name: str
    active_version: int | None = Field(None, description="生效的版本（空：未启用）")
    latest_version: int | None = None
    red_line: bool
    weight: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    versions: list[RuleVersionPublic] = Field(default_factory=list)


class RuleDryRunRequest(BaseModel):
    """The document to try (its text, or a saved ``code`` and ``version``: default the latest)
    and the stored calls: the last ``last_n`` (default 200), or those started from
    ``date_from`` to ``date_to``."""

    yaml_text: str | None = Field(None, min_length=1, max_length=100_000)
    code: str | None = Field(None, min_length=1, max_length=16)
    version: int | None = Field(None, ge=1, le=2_147_483_647)
    last_n: int | None = Field(None, ge=1, le=100_000)
    date_from: date | None = None
    date_to: date | None = None
    max_items: int = Field(500, ge=0, le=10_000,
                           description="最多列出的通话数（不合格的在前）/ calls listed, fails first")


class RuleDryRunItem(BaseModel):
    call_id: str | None = None
    started_at: datetime | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    status: Literal["pass", "fail", "n/a"]
    confidence: float
    message: str | None = None
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    verdict: Literal["pass", "fail"] | None = Field(
        None, description="主管对该规则以往不合格项的结论：fail 维持，pass 推翻")


class RuleDryRunResult(BaseModel):
    code: str
    reference_code: str = Field(description="以哪个规则的复核结论计算准确率 / whose verdicts")
    calls: int
    counts: dict[str, int]
    verdicts: dict[str, int] = Field(default_factory=dict, description=(
        "calls, true_fail, false_fail, missed_fail, true_pass"))
    precision: float | None = None
    recall: float | None = None
    seconds: float
    items: list[RuleDryRunItem] = Field(default_factory=list)
    items_truncated: bool = False


class RuleRescoreRequest(BaseModel):
    date_from: date
    date_to: date


class RuleRescoreResult(BaseModel):
    date_from: date
    date_to: date
    active_rules: list[str] = Field(default_factory=list, description="生效的规则版本，如 X001:v2")
    queued: int = Field(description="排队重新分析的通话数")
    closed_month: int = Field(0, description="所在月份已关闭、未重新分析的通话数")
    busy: int = Field(0, description="正在处理、未重复排队的通话数")
    no_transcript: int = Field(0, description="没有保存转写文本的通话数")


# --- calibration and sampling (issue #16 part 3) ----------------------------------------------------

Label = Literal["pass", "fail", "n/a"]
RuleCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="规则代码，如 GR01")]
SAMPLE_MONTH = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$"


class SampleCreate(BaseModel):
    """A random draw: a month, or an inclusive range of local dates (not both)."""

    name: str | None = Field(None, max_length=200, description="名称（不填：随机抽检 + 时间段）")
    month: str | None = Field(None, pattern=SAMPLE_MONTH, description="YYYY-MM")
    date_from: date | None = Field(None, description="开始日期（含）")
    date_to: date | None = Field(None, description="结束日期（含）")
    size: int = Field(ge=1, le=500, description="抽取的通话数")
    seed: int | None = Field(None, ge=0, le=2**31 - 1,
                             description="随机种子（不填：随机生成并记录）/ the seed, recorded")
    agent_id: str | None = Field(None, min_length=1, max_length=64, description="只抽该客服的通话")


class CalibrationDraw(SampleCreate):
    size: int = Field(ge=1, le=50, description="抽取的通话数（最多 50）")


class SamplePublic(BaseModel):
    id: int
    name: str
    purpose: Literal["review", "calibration"]
    seed: int
    date_from: date
    date_to: date
    month: str | None = None
    agent_id: str | None = None
    size: int
    population: int = Field(description="抽样时该时间段已分析的通话数")
    population_sha256: str
    call_ids: list[str] = Field(description="抽中的通话（按抽取顺序）")
    created_by: str | None = None
    created_at: datetime
    calls_checked: int = 0
    fails: int = Field(0, description="抽中通话的不合格项数")
    pending: int = Field(0, description="其中待复核")
    reviewed: int = Field(0, description="其中已复核（维持或推翻）")


class SampleCallPublic(BaseModel):
    call: CallSummary
    position: int
    fails: int = 0
    pending: int = 0
    upheld: int = 0
    overturned: int = 0
    checked_at: datetime | None = None
    checked_by: str | None = None


class SampleDetail(SamplePublic):
    calls: list[SampleCallPublic] = []
    reproducible: bool = Field(description="用记录的种子重抽是否得到同样的通话")
    reproducible_note: str = ""


class AgreementGroup(BaseModel):
    fails: int = Field(description="机器判为不合格的项数")
    upheld: int
    overturned: int
    pending: int
    agreement: float | None = Field(None, description="维持 / 已复核，%")
    overturn_rate: float | None = Field(None, description="推翻 / 已复核，%")


class CalibrationMatch(BaseModel):
    n: int = Field(description="校准评分与机器结论成对的项数（含合格项）")
    agree: int
    percent: float | None = None


class RuleAgreement(BaseModel):
    code: str
    name: str | None = None
    machine_fails: int
    sample: AgreementGroup = Field(description="随机抽检的通话（无偏）")
    queue: AgreementGroup = Field(description="其他通话（优先队列等的复核）")
    calibration: CalibrationMatch
    overturned: int
    decided: int


class AgreementTotals(BaseModel):
    machine_fails: int
    sample: AgreementGroup
    queue: AgreementGroup
    calibration: CalibrationMatch


class AgreementPublic(BaseModel):
    month: str
    sample_calls: int = Field(description="本月通话中被随机抽中的通数")
    rules: list[RuleAgreement]
    totals: AgreementTotals
    most_overturned: list[str] = Field(description="被推翻最多的规则（多者在前）")


class CalibrationCreate(BaseModel):
    """Exactly one of ``call_ids``, ``sample_id``, ``draw``."""

    name: str = Field(min_length=1, max_length=200)
    reviewer_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(
        min_length=2, max_length=20, description="评分人（质检主管或管理员，至少两人）")
    call_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, min_length=1, max_length=50, description="指定的通话")
    sample_id: int | None = Field(None, ge=1, le=2_147_483_647, description="用已有抽样的通话")
    draw: CalibrationDraw | None = Field(None, description="随机抽取（记录种子）")
    codes: list[RuleCode] | None = Field(None, min_length=1, max_length=200,
                                         description="评分的规则（不填：全部规则）")


class ScoreCell(BaseModel):
    call_id: str = Field(min_length=1, max_length=64)
    code: RuleCode
    label: Label | None = Field(None, description="pass / fail / n/a；null 清空")


class ScoresSave(BaseModel):
    scores: list[ScoreCell] = Field(default_factory=list, max_length=10000)
    submit: bool = Field(False, description="true：提交（须全部评完，提交后不能再改）")


class CalibrationReviewerPublic(BaseModel):
    user_id: int
    username: str
    display_name: str | None = None
    submitted_at: datetime | None = None


class CalibrationMe(BaseModel):
    reviewer: bool
    submitted: bool
    scored: int
    needed: int
    may_see_results: bool


class CalibrationSessionPublic(BaseModel):
    id: int
    name: str
    state: Literal["open", "closed"]
    sample_id: int | None = None
    codes: list[str]
    call_ids: list[str]
    created_by: str | None = None
    created_at: datetime
    closed_at: datetime | None = None
    reviewers: list[CalibrationReviewerPublic]
    me: CalibrationMe


class MyScores(BaseModel):
    session_id: int
    submitted_at: datetime | None = None
    scores: list[ScoreCell]


class PairAgreement(BaseModel):
    a: str
    b: str
    n: int
    agree: int
    percent: float | None = None
    kappa: float | None = Field(None, description="Cohen's kappa；null：无法计算（评分全相同）")


class MachineAgreement(BaseModel):
    rater: str
    n: int
    agree: int
    percent: float | None = None
    kappa: float | None = None


class PanelAgreement(BaseModel):
    pairs: list[PairAgreement]
    mean_kappa: float | None = None
    mean_percent: float | None = None
    machine: list[MachineAgreement] = []
    machine_mean_kappa: float | None = None
    machine_mean_percent: float | None = None


class RulePanel(PanelAgreement):
    code: str
    name: str | None = None


class Disagreement(BaseModel):
    call_id: str
    code: str
    machine: Label | None = None
    labels: dict[str, Label]


class CalibrationResults(BaseModel):
    session_id: int
    name: str
    state: Literal["open", "closed"]
    reviewers: list[CalibrationReviewerPublic] = Field(description="已提交的评分人")
    waiting: list[str] = Field(description="尚未提交的评分人")
    calls: int
    codes: list[str]
    overall: PanelAgreement
    rules: list[RulePanel]
    disagreements: list[Disagreement]
