"""Asks a KB answer must not meet: complaints (a person follows up) and risky asks.

A trust-first bot loses more by a confident answer to the wrong kind of
message than by a handoff: storage tips for mouldy tea, the caffeine entry
for someone who wants to stop their blood-pressure pills, the cancel-order
entry for a "system notice" that orders be made free. These are recognised by
what the message *does* (reports a problem, asks for medical or legal advice,
claims an authority, tries to re-instruct the bot), in Chinese and English,
before any retrieval, so no wording of the KB can pull them into an answer.
The member's text is only ever matched here, never obeyed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: risk kinds, in the order they are checked (the first that matches names the refusal)
RISKS = ("injection", "admin_order", "medical", "legal", "financial")


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_RISK_PATTERNS: dict[str, re.Pattern[str]] = {
    "injection": _any(
        r"忽略(之前|以上|上面|前面|所有|全部)",
        r"无视.{0,6}(指令|规则|设定)",
        r"(系统)?提示词",
        r"你现在(是|扮演|作为)",
        r"(扮演|假装你是|假装成)",
        r"开发者模式|越狱",
        r"\b(ignore|disregard|forget)\b.{0,20}\b(instructions?|rules?|prompts?)\b",
        r"\bsystem prompt\b",
        r"\byou are now\b",
        r"\b(act as|pretend (to be|you are)|roleplay as)\b",
        r"\b(developer mode|jailbreak|dan mode)\b",
        r"\bnew instructions?\b",
    ),
    "admin_order": _any(
        r"[\[(]\s*(系统|通知|管理员|官方|system|admin|notice)",
        r"管理员(已|已经)?(授权|同意|批准|指令|通知|说)",
        r"(老板|店长|经理|客服主管|主管)(说|同意|批准|答应|让|授权)",
        r"(已|已经)(授权|批准)",
        r"免单|改价|改成0|改为0|0元",
        r"(直接|帮我|给我)(确认|改价|打折|打[一二三四五六七八九]折|改成|改为|加|退款)",
        r"给(我|个|张|点|一张)[^。？?！!]{0,10}(券|code|优惠码|折扣|红包)",
        r"(加|送|补)[^。？?！!]{0,4}(一万|\d{3,})\s*(积分|分)",
        r"\b(admin|administrator|owner|manager|boss)\b.{0,30}\b(authori[sz]ed|approved|said|says|told|agreed|order)\b",
        r"\b(authori[sz]ed|approved)\b.{0,30}\b(orders?|price|refund|points|coupon|discount)\b",
        r"\b(change|lower|set|make)\b.{0,20}\b(price|orders?|total)\b.{0,20}\b(to|for)\b",
        r"\bchange the price\b",
        r"\b(give me|gimme|issue me|send me|give us)\b.{0,25}\b(coupon|discount|code|voucher|free)\b",
        r"\badd\b.{0,10}\d{3,}.{0,6}\b(points|pts)\b",
    ),
    "medical": _any(
        r"血压|血糖|糖尿病|高血压|降压|降糖|降脂|怀孕|孕妇|孕期|备孕|哺乳|喂奶",
        r"吃药|药物|停药|不吃药|服药|治疗|治病|能治|治好|根治|癌|肿瘤|医生|病人|疾病",
        r"减肥|刮油|排毒|抗癌|防癌|肝病|胃病|痛风|心脏病|误食|中毒|过敏",
        r"\bblood (pressure|sugar)\b|\bdiabet|\bpregnan|\bbreast-?feed|\bnursing\b",
        r"\b(medication|meds|medicine|insulin|pills?|prescription)\b",
        r"\b(cure|cures|curing|heal|heals)\b|\bcancer\b|\btumou?r\b|\bdoctor\b|\bdisease\b",
        r"\b(lose weight|weight loss|detox|fat burn)|\b(poison\w*|allerg\w*|swallowed)\b",
    ),
    "legal": _any(
        r"起诉|律师|法院|打官司|违法|消费者权益|维权|12315|举报|法律|仲裁|索赔",
        r"\b(sue|suing|lawsuit|lawyer|attorney|court|legal action|illegal|consumer protection)\b",
    ),
    "financial": _any(
        r"投资|升值|理财|股票|基金|炒茶|回报率|收益率|赚钱|增值",
        r"\b(invest|investment|investing|stocks?|shares|profit|make money|appreciate in value|roi)\b",
        r"\b(write[- ]?off|tax deduct\w*|deduct\w* .{0,20}tax(es)?)\b",
    ),
}

#: something went wrong with an order or product (needs a report cue to count)
_PROBLEM = _any(
    r"发霉|霉味|霉了|长毛|变质|破损|压扁|压坏|摔坏|摔碎|碎了|烂了|坏了|漏了|受潮",
    r"发错|寄错|错发|少发|漏发|少了一|缺了|丢件|没到账|不到账|还没退|没退款|不给退|不退",
    r"味道不对|不新鲜|有异味|串味了|有虫|有头发|有杂质",
    r"还不发货|还没发货|一直没发|一直不发|一直不回|没人回|不回消息",
    r"(天|周|星期|个月)了?(还|都|仍然|依然)(没|不)",
    r"\bmou?ldy?\b|\bmusty\b|\bstale\b|\brotten\b|\bspoil(ed|t)\b|\bbugs?\b",
    r"\b(broken|smashed|crushed|damaged|dented|leak(ed|ing)?|torn|cracked)\b",
    r"\bwrong (item|tea|order|product)\b|\b(u|you) sent\b|\bsent (me )?the wrong\b",
    r"\bmissing\b|\bonly (got|received)\b|\bnever (arrived|came|got)\b|\blost my\b",
    r"\bstill (not|hasn'?t|isn'?t|no|haven'?t|waiting)\b|\bnot shipped\b",
    r"\bnobody (answers|replies|responds)\b|\bno one (answers|replies|responds)\b",
)
#: a report, not a "what if" (a problem word in a hypothetical question is a policy ask)
_REPORT = _any(
    r"收到|到了|到手|我(的|买的|这)|这次|这批|拆开|打开|开了|了",
    r"\b(i|i'?ve|i'?m|my|we|our|mine|this|these|it'?s|its)\b",
    r"\b(got|received|arrived|came|opened|ordered|paid)\b",
)
_HYPOTHETICAL = _any(
    r"如果|万一|要是|假如|假设",
    r"\bwhat if\b|\bin case\b|\bwhat happens if\b|\bwhat do i do if\b|\bif (my|the|an?|it)\b",
)
#: anger or a complaint said outright: no problem word needed
_ANGER = _any(
    r"投诉|差评|垃圾|破服务|什么破|太差|失望|气死|骗子|坑人|坑爹|无语|退钱|恶心|太过分",
    r"\bcomplain(t|ts|ing)?\b|\bterrible\b|\bawful\b|\bworst\b|\bdisappoint(ed|ing)\b",
    r"\bscam\b|\bridiculous\b|\bunacceptable\b|\bdisgusting\b|\bgross\b|\bfurious\b",
    r"\bangry\b|\bpissed\b|\bwtf\b|\brefund me\b",
    "[\U0001f620\U0001f621\U0001f92c\U0001f624]",
)


@dataclass(frozen=True, slots=True)
class Screen:
    """What a message is, before any retrieval."""

    complaint: bool = False
    #: one of :data:`RISKS`, or None
    risk: str | None = None


def screen(question: str) -> Screen:
    """Classify ``question``; risk wins over complaint (a threat to sue gets no KB text)."""
    # folded and lower-cased, but punctuation and emoji kept: "【系统通知】" and 😡 say something
    text = unicodedata.normalize("NFKC", question).lower()
    for risk in RISKS:
        if _RISK_PATTERNS[risk].search(text):
            return Screen(complaint=is_complaint(text), risk=risk)
    return Screen(complaint=is_complaint(text))


def is_complaint(text: str) -> bool:
    if _ANGER.search(text):
        return True
    return bool(_PROBLEM.search(text) and _REPORT.search(text) and not _HYPOTHETICAL.search(text))
