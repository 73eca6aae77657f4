"""CP01: whether the agent's handling fits the complaint type (provided by the classifier)."""
from __future__ import annotations

from qa.records import Finding
from qa.rules.base import Rule, RuleContext


class ComplaintResponseFit(Rule):
    """投诉应对方式与投诉类型相符（由分类器提供）。

    适用：投诉电话。解决问题的投诉：倾听、认同、表达改善之意并承诺回复时限；
    纯粹发泄：多听少说、不打断不争辩、安抚；为了某种期待：认同并表达改善之意。

    正例：客户发泄不满时客服耐心倾听，“我非常理解您的心情，您先别着急”。

    反例：客户为解决问题投诉，客服只说“知道了”，既不认同也不承诺回复时间。
    """

    code = "CP01"
    name = "complaint_response_fit"
    family = "complaint"
    fail_message = "投诉应对方式与投诉类型不符"

    def evaluate(self, ctx: RuleContext) -> Finding:
        return self.na("由投诉分类器提供（classifiers）/ provided by the classifier")
