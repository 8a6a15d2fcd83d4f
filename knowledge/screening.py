"""Asks a KB answer must not meet: complaints (a person follows up), risky asks, and asks
about other things (another shop, the bot itself).

A trust-first bot loses more by a confident answer to the wrong kind of
message than by a handoff: storage tips for mouldy tea, the caffeine entry
for someone who wants to stop their blood-pressure pills, the cancel-order
entry for a "system notice" that orders be made free. These are recognised by
what the message *does*, in Chinese and English, before any retrieval, so no
wording of the KB can pull them into an answer:

- a complaint reports a problem (a defect of the goods, a parcel or refund that
  did not come, a bot nobody answers) as something that happened, not as a "what
  if"; or says it is upset outright (anger, sarcasm, a threat to leave, asking
  again);
- a risky ask re-instructs the bot, claims an authority or demands a price, asks
  about a health condition, a drug or a cure, or asks for legal or financial advice;
- an aside compares the shop with another one, or chats with the bot about itself.

Each signal is a family of wordings (every physical defect, every health
condition), not the phrases of one question set. The member's text is only
ever matched here, never obeyed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from knowledge.patterns import any_of as _any
from knowledge.risks import risk_of

#: what a complaint reports: the goods themselves, money, a delivery, no answer (an upset
#: message may name none); only a problem with the goods or the money has an after-sales entry
PROBLEMS = ("goods", "money", "delivery", "service")
#: asks about something else: another shop ("competitor"), or the bot itself ("chat")
ASIDES = ("competitor", "chat")


#: "you", said to the bot or the shop
_YOU = r"(?:you|u|ya|you guys|y'?all|ur|your|yours)"


#: something is wrong with the goods; a report when it is said as what happened to the
#: member (:data:`_REPORT`), not as a "what if" (:data:`_HYPOTHETICAL`)
_DEFECT = _any(
    # the goods: mould, off smells and tastes, pests, damage, contents, fakes, old stock
    r"霉|长毛|白毛|变质|发酸|馊|臭|异味|怪味|(一|有)股[^香]{0,6}味|味道?不对|串味|受潮|潮了|软了|结块|漏气",
    r"漏了|破(损|了|洞)|压(扁|坏|烂|碎|塌|变形)|摔(坏|碎|烂)|(碎|烂|坏|裂|瘪|凹|塌|变形)(了|成|掉|开|进)",
    r"碎末|成渣|变形|瘪|凹陷|(合|关|盖|拧)不(上|紧)|虫|头发|杂质|异物|(很|好|太)脏|一坨|是空的|空(盒|罐)",
    r"质量(明显|太|很|也)?(不行|差|太差|很差|有问题|不好|一般)|包装(这么|太|很)?烂|全是碎",
    r"发错|寄错|错发|发成|少(了|发|寄|给)[一两二三几\d]|漏发|缺(了|少)|只(到|收到|来|给|发|寄)了?[一二两三四五半\d]",
    r"(茶|货|包装|日期|保质期|批次).{0,8}过期|过期(茶|货|的茶)|假(货|的)|不是正(宗|品)|(跟|和|与)(图|描述|宣传|说的).{0,6}不(一样|符|同)|(被|是)(人)?(撕|拆|打)开(过|的)|二手",
    r"\bmou?ld\w*|\bmildew\w*|\bmusty\b|\bfuzz\w*|\bstale\b|\brott(en|ing)\b|\bspoil(ed|t)\b|\brancid\b",
    r"\b(smells?|tastes?|smelt|smelled|tasted|smelling|tasting)\b.{0,8}\b(like|of)\b.{0,12}"
    r"\b(plastic|chemicals?|smoke|fish\w*|mou?ld|mildew|dust|dirt|soap|perfume|petrol|gasoline|paint"
    r"|rubber|cardboard|garbage|trash|medicine|bleach|sweat|feet|mothballs?|detergent|metal|wet"
    r"|rot\w*|sewage|vinegar|nothing)\b"
    r"|\b(smells?|tastes?|something(?:'s| is)|seems?)\b.{0,4}\boff\b|\bweird (smell|taste)\b",
    r"\b(bugs?|insects?|worms?|moths?|hairs?|dirt|debris)\b",
    r"\b(crushed|smashed|broken|busted|cracked|dent|dents|dented|wrecked|ruined|damaged|torn|ripped"
    r"|leak\w*|spilled|spilt|squashed|crumbled|shattered|punctured|soaked|soggy|mouldy|moldy)\b"
    r"|\b(to|into|in) (dust|pieces|bits)\b|\bhalf[- ]empty\b|\b(arrived|came) (open|unsealed|empty)\b",
    r"\b(sour|rotten|weird|strange|bad|funny|musty|fishy|chemical|burnt|smoky) (smell|taste|odou?r)\b"
    r"|\b(poor|bad|low|terrible|awful) quality\b|\bquality is (bad|poor|terrible|awful|worse)\b"
    r"|\bnothing like (the )?(photos?|pictures?|description|ad|listing)\b|\bnot normal\b"
    r"|\b(full of|covered in) (specks|dust|bits|stems|hairs?|bugs)\b|\bjust (stems|dust|crumbs)\b",
    r"\b(you|u|they|you guys|y'?all)\b.{0,6}\b(forgot|left out|missed out|didn'?t (include|send|pack))\b"
    r"|\b(sent|gave|shipped) (me|us)\b.{0,30}\bnot\b",
    r"\b(sent|got|received|delivered|gave)\b.{0,12}\bwrong\b"
    r"|\bwrong (item|tea|product|thing|one|flavou?r|kind|type|variety|tin|box|pack)",
    r"\b(sent|got|received|came|delivered)\b.{0,30}\binstead\b"
    r"|\b(sent|got|received)\b.{0,40}\bbut\b.{0,10}\b(i|we)\b.{0,10}\b(ordered|bought|paid for|asked for)\b",
    r"\bmissing\b|\b(was|were|is|are|wasn'?t|weren'?t) ?n[o']t in\b|\b(wasnt|werent|isnt|arent) in\b|\bonly (got|received|came)\b|\bonly (\d+|one|two) (of|out of)\b",
    r"\b(fake|counterfeit|knock-?off)\b|\bnot (real|genuine|authentic)\b|\bout of date\b"
    r"|\b(tea|tin|pack|batch|leaves|date|it)\b.{0,20}\bexpired\b|\bexpired (tea|tin|pack|stock|goods)\b"
    r"|\bnot (as|what) (described|pictured|advertised|shown)\b|\bsecond-?hand\b|\btampered\b",
)
#: what should have happened did not (the parcel, the money, an answer), or the goods were
#: tampered with: a report by itself, unless put as a "what if"; what it is about
#: (:data:`_MONEY`, :data:`_SERVICE`, else the delivery) names the problem
_LET_DOWN = _any(
    r"没(收到|看到|见到|给我)|(货|快递|包裹|东西|茶|钱|款|退款)(还|都|也)?没到|没到(货|账)|丢(了|件)"
    r"|(没|未)(更新|退|到账|回复|回我|理|处理|动静)|不(理|回复|回我|处理)|一直(不|没)(回|理|发|到|处理|更新)"
    r"|没影|钱(被)?扣了|扣了(我)?钱|(付了|扣了)(钱|款).{0,12}(却|但|可是)|(却|但).{0,10}(扣了|扣款)"
    r"|没有动静|动静(都|也)?没|签收.{0,6}(没|未)|没人(理|回|管|处理|接)|不理(我|人)|已读不回",
    r"扣.{0,4}(两|2|二)(次|笔|遍)|多扣|重复扣|钱(呢|没|也没|还没)|钱[^，,。？?]{0,6}(都|还|也)没(回来|到|退|见|影)|(天|周|星期|礼拜|个月|小时|这么久|一直|都)了?还(没|不)(发|到|退|收到|回|更新|处理|动)",
    r"卡在|(一直|还|都)卡(着|住)|\b(lost|stuck|held up)\b.{0,20}\b(parcel|package|order|delivery|in|at|for)\b"
    r"|\b(parcel|package|order|delivery|tin|box)\b.{0,20}\b(lost|stuck|held up)\b",
    r"\bnothing (here|at|in|arrived|came)\b|\b(says|shows|marked|status)\b.{0,12}\b(delivered|signed)\b",
    r"\b(charged|paid|payment went through)\b.{0,25}\bbut\b|\b(with|got|getting|and) no "
    r"(reply|replies|response|answer)\b",
    r"\bnever (arrived|came|got|received|showed)|\bdid(n'?t| not) (arrive|come|get|receive|show)",
    r"\bstill (waiting|nothing)\b|\bstill no (reply|answer|refund|update|news|sign|tracking|parcel"
    r"|money|response)\b|\bstill (not|hasn'?t|haven'?t|isn'?t|hasnt|havent|isnt|didn'?t|not been)"
    r" (here|arrived|received|shipped|come|got|gotten|back|refunded|answered|replied|updated|moved"
    r"|been|in)\b|\bhas(n'?t| not) (even |yet )?(shipped|arrived|moved|updated|come)\b.{0,6}"
    r"\b(after|for|in|since|yet)\b.{0,10}\b(days?|weeks?|a week|a month|months?|ages)\b",
    r"\b(nobody|no one|no-one|noone)\b.{0,10}\b(answers?|repl(y|ies)|responds?|helps?|gets back|reads?)\b",
    r"\bcharged (me )?(twice|double|two times|extra|again)\b|\bdouble[- ]charged\b"
    r"|\b(two|2|double|duplicate|identical) (debits|charges|payments)\b"
    r"|\bkept (my|the) money\b",
)
#: time gone by, and what was due still not there: "two weeks and it hasn't even shipped",
#: "where is my refund??? it's been a month", "半个月了还没发货"
_OVERDUE = _any(
    r"(天|周|星期|礼拜|个月)了?.{0,8}(还|都|仍|依然|也)(没|不|未)|(天|周|星期|礼拜|个月)了?.{0,6}(呢|没影|没动静)",
    r"\b(it'?s been|been|for|after|over|and|ago)\s+(a|an|one|two|three|four|five|six|\d+|several"
    r"|few|many)\s+(days?|weeks?|wks?|months?)\b",
    r"\b(a|an|one|two|three|four|five|six|\d+|several|few|many)\s+(days?|weeks?|wks?|months?)"
    r"\s+(and|now|already|ago)\b",
)
#: ... with something still missing
_STILL_DUE = _any(
    r"没|不|未|呢",
    r"\b(no|not|never|nothing|where|even)\b|n'?t\b|\bstill (no|not|nothing|waiting)\b",
)
#: a let-down about money: a refund, a charge
_MONEY = _any(
    r"退款|退钱|钱|到账|扣款|扣了|付款|支付",
    r"\b(refund\w*|money|charged?|charges|paid|payment|billed)\b",
)
#: a let-down about being answered
_SERVICE = _any(
    r"客服|回复|回我|理我|没人|消息|已读",
    r"\b(answer\w*|repl(y|ies|ied)|respond\w*|messages?|support|nobody|no one|no-one|noone)\b",
)
#: told as something that happened to the member: receipt, possession, a finding, a
#: perfective or past form, a specific item ("this batch"), the goods held against their
#: listing, or opened before they came
_REPORT = _any(
    r"(跟|和|与)(图|描述|宣传|说的)|(被|是)(人)?(撕|拆|打)开(过|的)|二手",
    r"\bnot (as|what) (described|pictured|advertised|shown)\b|\bsecond-?hand\b|\btampered\b"
    r"|\bnothing like (the )?(photos?|pictures?|description|ad|listing)\b|\b(poor|bad|low) quality\b"
    r"|\b(the|my|this|half the|all the) (tea|teas|bag|tin|box|pack|pouch|leaves|cake|jar|lid|seal|parcel"
    r"|package|order)\s+(is|are|was|were|has|have|looks?|smells?|tastes?)\b",
    r"收到|到了|到手|寄来|送到|送来|打开|拆开|开盖|开封|泡出来|喝了|发现|我(的|买|这|家|们)|这(次|批|罐|盒|包|单|茶|个)|了",
    r"(盒|袋|罐|包|箱|饼)子?(里|内)|(喝|闻|看)(着|起来)|(跟|和|与)(上次|以前|之前)",
    r"\b(i|i'?ve|i'?m|i'?d|my|me|we|our|mine|us)\b|\bim\b",
    r"\b(got|received|arrived|came|opened|ordered|paid|delivered|found|bought|showed up)\b"
    r"|\b(tasted|smelled|smelt|looked|turned out)\b",
    r"\bthere(?:'s| is| are| was| were)\b|\b(was|were|has been|have been|had|already)\b"
    r"|\b(this|these)\b|\bin transit\b|\bon (arrival|delivery)\b|\beverywhere\b|\ball over\b",
)
#: a report, not a "what if" (a problem word in a hypothetical question is a policy ask), nor
#: an ask how to tell or how to do it ("怎么证明不是冒充", "the right way to pry a cake")
_HYPOTHETICAL = _any(
    r"如果|万一|要是|假如|假设|的话|怎么(知道|确认|辨别|分辨|鉴别|识别|证明|判断|区分|看出)|怎么(查|看)(是不是|真假|正品|真的)|会不会|会(坏|破|压|碎|变质|发霉)|怎么(申请|办理)?售后|售后(怎么|流程)"
    r"|(多久|几天|多长时间)(之内|以内|内)|(还没|没|未)发货.{0,6}(能|可以|可不可以|能不能|还能)",
    r"\bwhat if\b|\bin case\b|\bwhat happens if\b|\bwhat (do|should|can) (i|we) do if\b"
    r"|\bif (my|the|an?|it|something|anything|i)\b"
    r"|\bhow long (before|b4|till|until)\b"
    r"|\b(the )?(right|best|proper|correct) way to\b|\bshould i be \w+ing\b"
    r"|\bhow (do|can|should|would) (i|we|you)\b.{0,12}"
    r"\b(report|claim|return|apply|request|complain|tell)\b|\b(process|procedure|policy)\b"
    r"|\bhow (many|long|much time)\b.{0,25}\b(to|before) (report|tell|claim)\b"
    r"|\bhow (do|can|could|would) (i|we|you) (know|tell|check|verify|make sure|spot)\b"
    r"|\b(not|hasn'?t|hasnt|n't) (yet )?(been )?shipped( yet)?\b.{0,15}\b(can|could|may"
    r"|wann?a cancel|want to cancel)\b",
)
#: what the member did or left undone themselves: damage they caused ("i ripped the
#: carton opening it", "我拿刀撬全碎了"), goods they have not opened ("还没拆"): not a
#: problem of the shop's making, so a defect or a wait is not looked for in it
_OWN_DOING = _any(
    r"(还|都|也)?(没|未)(舍得)?(拆|拆封|开封|打开|喝|泡)(过)?",
    # the member's hand (the subject dropped or 我), up to the damage; not a finding on
    # opening ("我剪开全碎了") nor a courier's carelessness ("快递不小心摔碎了")
    r"(我自己|我(自己)?不小心|(^|[，,。\s])不小心|我(拿|用))[^，,。？?！!\s发看开现到]{0,8}"
    r"(碎|坏|破|烂|裂|断|散|洒|撒|瘪|扁|凹)",
    # ... and in English, the verb and its object, up to the next clause
    r"\b(i (accidentally |just |kinda |sort of )?(ripped|tore|broke|dropped|cracked|dented|crushed"
    r"|smashed|spilled|spilt|stabbed|snapped|knocked)|i keep (?!getting|receiving)\w+ing)\b"
    r"(?: (?!(?:and|but|then|so|only|found|saw|there|which)\b|it'?s\b)[\w']+){0,5}",
    r"\b(still )?(sealed|unopened|unused|not (yet )?opened|have(n'?t| not) opened)\b",
)
#: whether a wait is normal, when something should come, what happens next, a wait only
#: hours old, a change of mind: the member asks what to expect (a policy ask), unless the
#: wait is already long or something went wrong outright (:data:`_GONE_WRONG`)
_ASKS_NORM = _any(
    r"会怎么?样|(正常|正常的)(吗|不|么)|才[^，,。？?]{0,6}(小时|分钟)",
    r"\b(is|was) (that|this|it) normal\b|\bwhen should\b|\bchanged? my mind\b",
)
#: lost, not received though marked delivered, charged twice: not a wait however asked
_GONE_WRONG = _any(
    r"没收到|签收.{0,6}(没|未)|丢(了|件)|扣.{0,4}(两|2|二)次|多扣|重复扣",
    r"\bnever (arrived|came|got|received)|\bdid(n'?t| not) (arrive|get|receive)|\blost\b"
    r"|\b(says|shows|marked|status)\b.{0,12}\b(delivered|signed)\b"
    r"|\bcharged (me )?(twice|double|two times|extra|again)\b|\bdouble[- ]charged\b",
)
#: a wait of weeks or of ten days and more
_LONG_WAIT = _any(
    r"[十一二两三四五六七八九几半\d]+个?(周|星期|礼拜|月)|十几天|[一二两三四五六七八九]?十[一二三四五六七八九]?天|\d{2,}天",
    r"\b(weeks?|months?|\d{2,} days)\b",
)
#: upset said outright: anger, sarcasm, a threat to leave, asking again, a demand
_UPSET = _any(
    r"投诉|差评|垃圾|破(服务|店|玩意)|什么破|什么玩意|太差|失望|气死|生气|火大|骗子|骗人|坑人|坑爹|无语",
    # a refund demanded ("退钱!"), not asked about ("是检查完才退钱吗")
    r"(?<![才再会能就])退钱(?![^，,。！!]{0,4}[吗么嘛])|恶心|过分|离谱|搞什么|有没有搞错|凭什么|忽悠|黑店|呵呵(?<!哈呵呵)|再也不(买|来)",
    # "绝了" and "醉了" praise a tea as often as they mock a service: only said of the shop
    r"(服务|客服|你们|你家|物流|快递|发货)[^，,。！!？?]{0,6}(绝了|醉了)|服了(你们|你|这家)",
    r"不会再(买|来)|拉黑|第[二三四五六七八九十几\d]+次(问|说|催|找|联系|来问)|(问|说|催|找)了?(多少|好几|几)次",
    r"还要等多久|有没有人(管|理|回)|到底(什么时候|寄没寄|发没发|还要)|赶紧(给|处理|退|发|回)",
    r"马上(给|处理|退)|必须给我|给个说法|别跟我扯|少废话|到底有没有人|(太|好|真)坑|坑(人|爹|钱)",
    # the shop's manner, a rigged sale, giving up on the shop, a promise broken
    r"什么态度|这(是)?什么服务|黑幕|猫腻|暗箱|内定|不想(卖|做|干)了|还(做|想)不(做|想)生意"
    r"|以后(再)?不(买|来)了|说好的[^，,。？?！!]{0,10}(怎么|咋|却|结果|居然)",
    r"\bwhat kind of (service|attitude|shop)\b|\brigged\b|\byou (promised|said)\b.{0,40}\bbut\b",
    r"\bcomplain(t|ts|ing)?\b|\bworst\b(?! (case|part))|\bdisappoint(ed|ing)\b"
    r"|\b(terrible|awful|horrible)\b(?! at\b)",
    r"\bscam\w*|\bridiculous\b|\bunacceptable\b|\bdisgusting\b|\bfurious\b|\bpathetic\b"
    r"|\bgross\b\s*[.!]|\b(so|that'?s|how) gross\b",
    r"\bangry\b|\bpissed\b|\bwtf\b|\bfed up\b|\bsick of\b|\buseless\b|\brip-?off\b|\bripped off\b",
    r"\brefund me\b|\b(give|want|need) (me )?(my|the) money back\b|\bnever again\b|\bdone with (you|u|ur|this)\b",
    r"\bso[- ]called\b|\bwhat am i (even )?paying (you )?for\b|(太|好|真|很)尴尬|丢(死)?人了",
    r"\bthanks for nothing\b|\bseriously\s*[?!]|\b(are|r|do|did) " + _YOU + r" (guys )?even\b",
    r"\b(second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th|umpteenth) time (i'?m |im |i'?ve |i have )?"
    r"(asking|asked|writing|written|messaging|messaged|contacting|telling|chasing)\b"
    r"|\bhow many times (do|must|should|have) i\b",
    r"\boh great\b|\b(what|such) a joke\b|\b(this|that|it)(?:'s| is) a joke\b|\banother (day|week|month)\b",
    r"\b(i'?m|im|i am|i feel|we'?re|we are|so|very|really|extremely) (unhappy|upset|annoyed|frustrated"
    r"|livid|outraged)\b(?! (with|about|at|by) (my|myself)\b)|\bnot happy with (you|your|the|this) (service|order|purchase|tea|shop|delivery)\b"
    r"|\b(messaged|asked|emailed|called|written|wrote|contacted)\b.{0,15}\b(\d+|several|many|multiple"
    r"|few|three|four|five) times\b",
    "[\U0001f620\U0001f621\U0001f92c\U0001f624\U0001f644\U0001f44e\U0001f4a2]",
)
#: an accusation of cheating (passing off, swapping for worse): upset, unless asked as how
#: to tell ("岩茶怎么证明不是外山茶冒充")
_ACCUSE = _any(
    r"冒充|以次充好|掉包|调包|偷工减料|挂羊头",
    r"\b(you|u|you guys|y'?all)\b.{0,20}\bpass(ing|ed)? (\w+ ){0,2}off\b|\bbait[- ]and[- ]switch\b"
    r"|\bswapped (it |them )?(for|with) (a )?(cheaper|worse|older)\b|\bcheating (me|us|customers|people)\b",
)
#: the shop compared with another one (no KB entry speaks for a competitor)
_COMPETITOR = _any(
    r"(你们|你家|贵店)(家)?(的茶|的东西|店)?(和|跟|与|比)",
    r"(和|跟|比).{0,10}(你们|你家)(比)?.{0,4}(哪个|谁|哪家)|哪家(好|更好|便宜|靠谱)",
    r"\b(better|worse|cheaper|nicer)\b.{0,6}\bthan (you|u|you guys|y'?all)\b",
    r"\b(you|u|you guys|y'?all|your (teas?|shop|store|stuff|prices?))\b"
    r" (compare[sd]?|vs\.?|versus|better than|worse than|cheaper than)\b(?!.{0,12}\byour\b)",
    r"\b(vs\.?|versus|compared? (to|with)) (you|u|you guys|y'?all|your (shop|store))\b",
)
#: chat with the bot about itself: who it is, a joke, its tastes
_CHAT = _any(
    r"你是(不是)?(机器人|ai|人工智能|真人|人还是)|你是人吗|讲个笑话|说个笑话|你(好|真|太)(笨|傻|蠢|可爱|聪明)",
    r"你几岁|你叫什么|你喜欢什么",
    r"\b(are|r) "
    + _YOU
    + r" (a |an )?(bot|robot|ai|human|machine)\b|\b(you'?re|ur|you are) (a |an )?"
    r"(bot|robot|ai)\b|\b(tell|know) (me )?(a|any) jokes?\b|\b"
    + _YOU
    + r" (own |personal |all[- ]time )?(favou?rite|fave?)\b"
    r"|\bhow old are " + _YOU + r"\b|\bwho (made|created|built) " + _YOU + r"\b",
)


@dataclass(frozen=True, slots=True)
class Screen:
    """What a message is, before any retrieval."""

    complaint: bool = False
    #: one of :data:`PROBLEMS` when the complaint names one, else None
    problem: str | None = None
    #: one of :data:`knowledge.risks.RISKS`, or None
    risk: str | None = None
    #: one of :data:`ASIDES`, or None (a complaint or a risk outranks it)
    aside: str | None = None


def screen(question: str) -> Screen:
    """Classify ``question``; risk wins over complaint (a threat to sue gets no KB text)."""
    # folded and lower-cased, but punctuation and emoji kept: "【系统通知】" and 😡 say something
    text = unicodedata.normalize("NFKC", question).lower()
    problem = problem_of(text)
    hypothetical = bool(_HYPOTHETICAL.search(text))
    accused = not hypothetical and bool(_ACCUSE.search(text))
    complaint = problem is not None or accused or bool(_UPSET.search(text))
    risk = risk_of(text)
    if risk is not None:
        return Screen(complaint=complaint, problem=problem, risk=risk)
    if complaint:
        return Screen(complaint=True, problem=problem)
    return Screen(aside=aside_of(text))


def about_money(text: str) -> bool:
    """Whether ``text`` (an entry's question) is about money: refunds, charges, payment.
    A money complaint is shown only such an after-sales entry, never the damaged-goods one."""
    return bool(_MONEY.search(unicodedata.normalize("NFKC", text).lower()))


def problem_of(text: str) -> str | None:
    """The problem ``text`` reports (one of :data:`PROBLEMS`), or None for a "what if"."""
    if _HYPOTHETICAL.search(text):
        return None
    text = _OWN_DOING.sub(" ", text)
    if _DEFECT.search(text) and _REPORT.search(text):
        return "goods"
    if _ASKS_NORM.search(text) and not (_LONG_WAIT.search(text) or _GONE_WRONG.search(text)):
        return None  # what to expect of a wait (a defect in hand is reported all the same)
    if not _LET_DOWN.search(text) and not (_OVERDUE.search(text) and _STILL_DUE.search(text)):
        return None
    if _MONEY.search(text):
        return "money"
    return "service" if _SERVICE.search(text) else "delivery"


def aside_of(text: str) -> str | None:
    """``competitor`` or ``chat`` when the message is about another shop or the bot."""
    if _COMPETITOR.search(text):
        return "competitor"
    if _CHAT.search(text):
        return "chat"
    return None
