"""Checks of a customer-service reply on fixed strings (no model): a reply is a reply, not an ad.

A reply fails when it holds a placeholder (``[Your Name]``, ``{name}``, ``XXX`` …), promotes or announces
something (a campaign, a launch, a discount, 新品, 优惠 …), promises a refund, compensation or a timeline
("within 24 hours", "guarantee", 退款 …), or does not address the complaint at all (none of its topic terms
and no apology or acknowledgement word). ``check_reply`` lists the problems; an empty list means it is fine.

``topic_terms_of`` and ``check_reply_for`` read the topic terms from a ``support_reply`` brief's
"Acknowledge: …" key point (see ``ACK_PREFIX``), so a caller holding only the Brief can run the checks.
"""

from __future__ import annotations

import re
from typing import Any

from aigc_core.cjk import has_cjk

# The key point that carries what the reply acknowledges: "Acknowledge: late delivery, lost bag".
ACK_PREFIX: dict[str, str] = {"en": "Acknowledge:", "zh": "回应："}

_ACK_POINT = re.compile(r"^\s*(?:acknowledge|回应)\s*[:：]\s*(.+)$", re.I)
_PLACEHOLDERS = re.compile(
    r"\[[^\]\n]{1,40}\]|【[^】\n]{1,20}】|\{\{?[^}\n]{0,40}\}?\}|<[^>\n]{1,30}>|\bX{2,}\b|_{3,}|＿{2,}|\?{3,}|"
    r"\blorem ipsum\b|\b(?:your|company|brand|product|customer|agent|store|shop)(?:'s)?\s+name\b|"
    r"\binsert\s+(?:name|company|brand|date|link|number|here)\b|"
    r"(?:公司|品牌|产品|客户|客服|店铺|您的|你的)(?:名称|名字)|某某|XX(?:公司|品牌|先生|女士)",
    re.I,
)
_PROMOTIONS = re.compile(
    r"\b(?:excited|thrilled|pleased|proud|happy|delighted)\s+to\s+(?:announce|introduce|launch|unveil|share\s+our)\b|"
    r"\bannouncing\b|\b(?:big|exciting|new|special)\s+announcements?\b|\bintroducing\b|\bunveil(?:s|ed|ing)?\b|"
    r"\blaunch(?:es|ed|ing)?\b|\bcampaigns?\b|"
    r"\bdiscounts?\b|\d+\s?%\s?off\b|\bpercent\s+off\b|\bsale\b|\bpromo(?:tion|tions|tional)?(?:\s+code)?\b|"
    r"\bcoupons?\b|\bvouchers?\b|\b(?:special|exclusive|limited[- ]time)\s+offers?\b|\blimited[- ]time\b|"
    r"\b(?:great|best|special|exclusive|hot)\s+deals?\b|\bfree\s+shipping\b|\b(?:buy|shop|order)\s+now\b|"
    r"\bnew\s+(?:collection|product|products|range|arrivals?|features?)\b|\bcheck\s+out\s+our\b|"
    r"\bdon'?t\s+miss\b|#[^\W\d_]\w*|"
    r"新品|优惠|折扣|打折|促销|限时|特价|秒杀|抢购|满减|领券|全新上线|正式上线|活动上线|全新上市|隆重推出|"
    r"全新推出|震撼发布|重磅|敬请期待|立即购买|马上下单|(?:促销|限时|优惠|营销|推广|新)活动|活动期间",
    re.I,
)
_NUM = r"(?:\d+|an?|one|two|three|four|five|six|seven|ten|twelve|twenty[- ]four|48|72)"
_PROMISES = re.compile(
    r"\brefund(?:s|ed|ing)?\b|\breimburs\w*|\bcompensat\w*|\bmoney[- ]back\b|\bfull\s+credit\b|"
    r"\bguarantee(?:s|d)?\b|\bwe\s+promise\b|\bpromise\s+(?:to|that|you)\b|"
    rf"\bwithin\s+(?:the\s+next\s+)?{_NUM}\s+(?:business\s+|working\s+)?(?:minutes?|hours?|days?|weeks?)\b|"
    rf"\bin\s+(?:the\s+next\s+)?{_NUM}\s+(?:business\s+|working\s+)?(?:minutes?|hours?|days?|weeks?)\b|"
    r"\bby\s+(?:tomorrow|tonight|monday|tuesday|wednesday|thursday|friday|saturday|sunday|the\s+end\s+of\s+"
    r"(?:the\s+)?(?:day|week|month))\b|\b(?:eod|asap)\b|"
    r"退款|退钱|退货退款|赔偿|补偿|包赔|保证|承诺|"
    r"[\d一二三四五六七八九十两]+\s?(?:个)?(?:分钟|小时|天|日|工作日|周|星期)(?:内|之内)|今天(?:之内|内)|明天(?:之前|前)",
    re.I,
)
_PERSONA = re.compile(r"\bmy\s+name\s+is\b|我叫|我的名字是", re.I)
_ACK_WORDS = re.compile(
    r"\bsorry\b|\bapolog\w*|\bregret\w*|\bunderstand\w*|\bfrustrat\w*|\binconvenien\w*|\bhear\s+you\b|"
    r"\bthanks?\s+(?:you\s+)?for\s+(?:letting|flagging|reporting|telling|raising|your\s+patience)\b|"
    r"\baware\b|\blooking\s+into\b|"
    r"抱歉|对不起|歉意|致歉|道歉|不便|理解|收到(?:您|你)的反馈|了解到|正在(?:处理|核实|调查|跟进)|感谢(?:您|你)的(?:反馈|耐心)",
    re.I,
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.U)
_SUFFIXES = ("ies", "ied", "ing", "es", "ed", "s", "e", "y")


def _stem(word: str) -> str:
    """A crude English stem, enough to match "deliveries" to "delivery" and "charged" to "charge"."""
    w = word.lower().replace("’", "'").removesuffix("'s")
    for _ in range(2):
        for suf in _SUFFIXES:
            if len(w) > len(suf) + 2 and w.endswith(suf):
                w = w[: -len(suf)]
                break
        else:
            break
    return w


def _quote(m: re.Match[str]) -> str:
    return f"“{m.group(0).strip()}”"


def _blank(text: str, phrases: list[str]) -> str:
    """The text with ``phrases`` blanked out (case-insensitive)."""
    for phrase in sorted({p.strip() for p in phrases if p.strip()}, key=len, reverse=True):
        text = re.sub(re.escape(phrase), "", text, flags=re.I)
    return text


def addresses_topic(text: str, topic_terms: list[str], language: str = "en") -> bool:
    """True when the text names one of the topic terms: Chinese terms as substrings, English ones by word
    stems ("late deliveries" names "delivery"), a multi-word term when all its words appear."""
    low = text.lower()
    compact = re.sub(r"\s+", "", low)
    stems = {_stem(w) for w in _WORD.findall(low)}
    for term in topic_terms:
        term = term.strip().lower()
        if not term:
            continue
        if language == "zh" or has_cjk(term):
            if re.sub(r"\s+", "", term) in compact:
                return True
            continue
        words = [_stem(w) for w in _WORD.findall(term) if len(w) > 2]
        if term in low or (words and all(w in stems for w in words)):
            return True
    return False


def check_reply(text: str, *, topic_terms: list[str], brand: str, language: str) -> list[str]:
    """Problems of a customer-service reply (empty = fine): placeholders, promotions or announcements,
    promises of refunds or timelines, a made-up agent name, and not addressing the complaint (none of
    ``topic_terms`` and no apology/acknowledgement word). ``brand`` is blanked out before every phrase check
    and the topic terms before the promotion and promise checks (a complaint about a sale or a refund may be
    named); ``language`` ('en' or 'zh') picks how the topic terms are matched."""
    body = _blank(text, [brand])
    about = _blank(body, topic_terms)  # a complaint about a "sale" or a "refund" may be named in the reply
    problems: list[str] = []
    found = list(dict.fromkeys(_quote(m) for m in _PLACEHOLDERS.finditer(body)))
    if found:
        problems.append(f"has placeholders to fill in: {', '.join(found[:4])}")
    found = list(dict.fromkeys(_quote(m) for m in _PROMOTIONS.finditer(about)))
    if found:
        problems.append(f"promotes or announces something instead of answering: {', '.join(found[:4])}")
    found = list(dict.fromkeys(_quote(m) for m in _PROMISES.finditer(about)))
    if found:
        problems.append(f"promises a refund, compensation or a timeline: {', '.join(found[:4])}")
    m = _PERSONA.search(body)
    if m:
        problems.append(f"signs as a made-up person: {_quote(m)}")
    if not _ACK_WORDS.search(body) and not addresses_topic(body, topic_terms, language):
        what = f" ({', '.join(t for t in topic_terms[:4] if t.strip())})" if any(t.strip() for t in topic_terms) else ""
        problems.append(f"does not address the complaint{what}: no apology or acknowledgement")
    return problems


def topic_terms_of(brief: Any) -> list[str]:
    """The topic terms of a ``support_reply`` brief: the comma-separated items of its "Acknowledge: …" point."""
    out: list[str] = []
    for point in brief.points():
        m = _ACK_POINT.match(point)
        if m:
            out.extend(t.strip() for t in re.split(r"[,，、;；]", m.group(1)) if t.strip())
    return list(dict.fromkeys(out))


def check_reply_for(text: str, brief: Any) -> list[str]:
    """``check_reply`` with the topic terms, brand and language taken from a ``support_reply`` Brief."""
    return check_reply(text, topic_terms=topic_terms_of(brief), brand=brief.product, language=brief.language)
