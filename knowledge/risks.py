"""Risky asks: what a KB answer must never meet, even when the KB has words for it.

A member who re-instructs the bot, claims an authority or demands a price, asks about
someone else's data, a health condition, or legal or financial advice gets a polite
handoff (``knowledge.screening`` calls :func:`risk_of` before any retrieval). Each kind
is a family of wordings in Chinese and English, matched on the folded, lower-cased text.
"""

from __future__ import annotations

import re

from knowledge.patterns import any_of as _any

#: risk kinds, in the order they are checked (the first that matches names the refusal)
RISKS = ("injection", "admin_order", "privacy", "medical", "legal", "financial")

PATTERNS: dict[str, re.Pattern[str]] = {
    # the member tries to re-instruct the bot: override, new role, forced reply, leak
    "injection": _any(
        r"(忽略|无视|不要管|别管|忘掉|忘记|跳过)(之前|以上|上面|前面|所有|全部|你的|一切|规则|设定)",
        r"无视.{0,6}(指令|规则|设定)",
        r"(系统)?提示词|(规则|设定|指令|提示)的?原文|原始(指令|设定|规则)",
        r"你现在(是|扮演|作为)|从现在(开始|起)|接下来你(只|必须|要)",
        r"(扮演|假装你是|假装成|你是一个)",
        r"开发者模式|越狱|没有(任何)?限制|不受(任何)?限制",
        r"优先级.{0,4}(指令|命令)|以下(为|是).{0,10}(指令|命令)|新(的)?指令",
        r"只(能|许|准)?(回答|回复|说|输出)\s*[“\"'「‘]",
        r"(输出|打印|列出|发我|告诉我|给我看).{0,6}(全部|所有).{0,6}(优惠码|券码|密码|指令|设定)",
        r"(输出|打印|列出|发我|告诉我|给我看).{0,4}你的.{0,6}(规则|指令|设定|提示)",
        r"把你的.{0,6}(规则|设定|指令|提示)",
        r"^\s*(system|assistant|developer|root|系统|后台|平台|官方)\s*(消息|通知|公告|message|notice)?\s*[:：]",
        r"(请|就|你)?直接回复.{0,2}[“\"'「‘]?(已|同意|确认|好的|可以)",
        r"\b(ignore|disregard|forget|override|bypass)\b.{0,25}"
        r"\b(instructions?|rules?|prompts?|above|previous|prior|earlier|everything|guidelines)\b",
        r"\bsystem prompt\b|\b(hidden|secret|internal|original|initial) (rules|instructions|prompt)",
        r"\b(print|reveal|show|repeat|output|dump|list|tell me)\b.{0,20}\byour\b.{0,15}"
        r"\b(rules|instructions|prompt|guidelines|configuration|config)\b",
        r"\b(print|reveal|show|repeat|output|dump)\b.{0,20}\bthe\b.{0,15}"
        r"\b(instructions|prompt|system message|configuration|config)\b",
        r"\byou(?: are|'re|r) now\b|\bno (restrictions|limits|filters|rules)\b|\bunrestricted\b",
        r"\bfrom now on\b|\b(act as|pretend (to be|you are|you're)|roleplay as)\b",
        r"\b(developer mode|jailbreak|dan mode)\b|\bnew instructions?\b",
        r"\bonly (answer|reply|respond|say|speak|talk)\b|\b(answer|reply|respond) only\b",
        r"\b(reply|say|respond|answer|output|print)\b\s*(with|only)?\s*['\"“‘]",
    ),
    # an authority is claimed (a header, a role, a relayed approval) or a price, order or
    # balance change is demanded of the bot
    "admin_order": _any(
        r"[\[【(（<]\s*(系统|通知|公告|管理员|官方|平台|客服|店长|system|admin|notice|official"
        r"|owner|staff|manager|urgent)",
        r"\b(message|notice|note|order|instruction)s? from (the )?(shop |store )?"
        r"(owner|admin|manager|management|boss|staff|headquarters|hq)\b|\bsystem notice\b",
        r"我是(你们|贵店|店里|这家店|这家)?(店|家)?(里)?的?(老板|店长|经理|客服|主管|管理员|员工|工作人员|股东|老板娘)",
        r"(老板|店长|经理|员工|客服|管理员|主管)的?(朋友|亲戚|家人|老婆|老公|同学|熟人)|工号",
        r"(管理员|客服|老板|店长|经理|主管|同事|官方|平台)(已|已经|之前|上次|刚才)?.{0,3}"
        r"(说了|说过|说可以|答应|同意|批准|授权|承诺|确认过)",
        r"(已|已经)(授权|批准)|(不用|无需|不需要|别)(核实|核对|审核|验证)|(后台|系统|平台)(已|已经)(确认|批准|通过|同意)",
        r"(隐藏|内部|秘密|专属|神秘)的?(优惠码|优惠券|券码|折扣码|兑换码|口令|福利码|券)",
        r"\b(secret|hidden|internal|insider)\b.{0,10}\b(codes?|coupons?|discounts?|promo\w*"
        r"|vouchers?)\b",
        r"(给我|送我|给个|给张|给点|送点|送个|再送|多送|给俺|发我|来个|来张)"
        r"[^。？?！!，,讲说解介查看问]{0,8}(券|code|码|折|优惠|红包|积分|免单|便宜|包邮|赠品|返现|返钱|返\d)",
        r"送我(一|两|几|\d)(罐|盒|包|袋|饼|份|个|斤)",
        r"便宜(点|些|一点|一些)(呗|吧|啦|嘛|卖|给我|行不|可以不)|少算|抹(个)?零",
        r"(给我|给俺|帮我|就|直接|能不能|可不可以)打个?[一二三四五六七八九几\d]+折|[一二三四五六七八九]折(呗|吧|行|可以)",
        r"免单|改价|改成0|改为0|(改|变|调)(成|为|到)[0零]元|[0零]元(购|拿|买|送)|(设置|设|改)(为|成)\d{3,}",
        r"按(那个|他们的?|天猫|京东|淘宝|拼多多|别家|人家|旗舰店|之前|上次|原来).{0,6}价",
        r"(加|送|补|充)[^。？?！!]{0,4}(一万|\d{3,})\s*(积分|分)",
        r"\b(i'?m|i am|im) (the|your) (store |shop )?(manager|owner|admin|administrator|boss"
        r"|supervisor)\b|\b(i'?m|i am|im) (a |an )?(staff|employee|admin)\b",
        r"\b(friend|cousin|brother|sister|wife|husband|relative|mate)\b.{0,12}\b(is|works)\b.{0,12}"
        r"\b(staff|manager|owner|admin|here|for (you|u))\b",
        r"\b(admin|administrator|owner|manager|boss|staff|customer service|cs|support|colleague"
        r"|agent)\b.{0,30}\b(authori[sz]ed|approved|promised|agreed|said|says|told me|confirmed"
        r"|okayed|ok'?d)\b",
        r"\b(authori[sz]ed|approved|granted)\b.{0,30}\b(orders?|price|refund|points|pts|coupon"
        r"|discount|free|replacement|shipping)\b",
        r"\b(no need to|without) (check|verify|confirm)\w*\b",
        r"\b(give me|gimme|give us|send me|issue me|grant me|hook me up|throw in)\b.{0,25}"
        r"\b(coupon|discount|code|voucher|promo|free\w*|% off|percent off|deal|points|pts)\b",
        r"\b(knock|take|shave)\b.{0,15}(%|percent|yuan|rmb|bucks|\d) ?off\b|\b(match|beat)\b.{0,20}\bprice|\bprice ?match",
        r"\b(change|lower|set|reduce|drop|make)\b.{0,12}\b(price|total|bill)\b.{0,20}\b(to|for)\b"
        r"|\bchange the price\b",
        r"\badd\b.{0,10}\d{3,}.{0,6}\b(points|pts)\b|\b(admin|administrator|manager|owner|staff|boss)"
        r" here\b|\b(reset|set|change|top up|raise)\b.{0,15}\b(points|pts|balance|credit)\b.{0,10}\d{3,}",
    ),
    # a health condition, a drug, or a cure: whatever the tea, this is a doctor's question
    # someone else's personal data or account: the bot never looks up another member
    "privacy": _any(
        r"(他|她|别人|其他人|朋友|前任|前男友|前女友|老公|老婆|男朋友|女朋友|同事|邻居|某人|这个人|这位|那个人|ta)"
        r"(的|在你们(这|家)?的?)(收货)?(地址|住址|电话|手机号?|号码|订单|账号|账户|密码|购买记录|消费记录|收货信息|个人信息)"
        r"[^，,。]{0,8}(是(多少|什么|哪)|在哪|多少|发(我|给我)|告诉我|给我(看|查)|查(一下|下)?|能(看|查))"
        r"|(查|告诉我|发我|给我)(一下|下)?(我|我的)?(他|她|别人|其他人|朋友|前任|前男友|前女友|同事|某人|这个人|ta)的?"
        r"(收货)?(地址|住址|电话|手机号?|订单|账号|购买记录|消费记录|收货信息|个人信息)",
        r"\b(what|which|tell me|give me|send me|look up|find|check|share)\b.{0,30}"
        r"\b(her|his|their|someone(?: else)?'?s|somebody'?s|my (ex|ex-\w+|neighbou?r|friend|colleague|boss)'?s?)\b"
        r".{0,25}\b(address|phone|number|email|orders?|order history|account|password|details|purchases)\b"
        r"|\b(what|which) (address|phone|number|email)\b.{0,15}\b(does|did) (my|her|his|their) (ex|friend|"
        r"neighbou?r|colleague|boss|wife|husband|girlfriend|boyfriend)\b",
    ),
    "medical": _any(
        r"血压|血糖|血脂|胆固醇|尿酸|痛风|糖尿病|三高|心脏|冠心病|肝|肾|胃|反流|拉肚子|腹泻|便秘",
        r"发烧|发热|退烧|感冒|咳嗽|嗓子|喉咙|头疼|头痛|怀孕|孕|哺乳|喂奶|月经|痛经|经期|贫血",
        r"骨质疏松|癌|肿瘤|痴呆|抑郁|焦虑|过敏|湿疹|中毒|有毒|排毒|误食|化疗|皮疹|起疹|痒|呕吐|宿醉|解酒",
        r"药(?<!农药)|华法林|阿司匹林|他汀|二甲双胍|胰岛素|抗生素|激素",
        r"治(?<!政治)|疗|医生|医嘱|病(?<!毛病)|预防|防癌|降(压|糖|脂|血|火)|调理|养(胃|肝|生|颜)|减肥|瘦|刮油"
        r"|抗(癌|氧化|衰老)|保健|功效",
        r"\bblood (pressure|sugar)\b|\bcholesterol\b|\bdiabet|\bhypertension\b|\bgout\b"
        r"|\buric acid\b|\bheart (disease|condition|problem)|\bliver\b|\bkidney|\bstomach\b"
        r"|\bulcer|\breflux\b|\bgerd\b|\bibs\b|\bdiarrh|\bconstipat",
        r"\bfever\b|\bflu\b|\ba cold\b(?! (winter|day|night|morning|evening))|\bcough|\bsore throat\b|\bheadache|\bmigraine"
        r"|\bpregnan|\bbreast-?feed|\bnursing\b|\bperiod pain|\bmenstrua|\ban(a)?emi"
        r"|\bosteopor|\bcancer\b|\btumou?r|\bdementia\b|\balzheimer|\bdepression\b|\banxiety\b"
        r"|\ballerg|\beczema\b|\bacne\b|\bpoison|\btoxic\b|\bswallowed\b|\bimmun|\binflamm"
        r"|\barthritis\b|\binsomnia\b|\bchemo\w*|\bradiation\b|\brash\b|\bhives\b|\bitch\w*"
        r"|\bcramps?\b|\bperiod pains?\b|\bpms\b|\bhangover\b|\bnausea\b|\bvomit\w*",
        r"\b(safe|ok|okay|fine|good) (for|to give( to)?) (my |a )?(baby|babies|infant|toddler|kids?|child"
        r"|children|dog|cat|pet|puppy|kitten)\b",
        r"\b(medication|meds|medicine|pills?|tablets?|insulin|prescription|statins?|warfarin"
        r"|aspirin|metformin|antibiotics?|antidepressants?|ibuprofen|paracetamol|blood thinners?"
        r"|drugs?)\b",
        r"\b(cure|cures|curing|heal|heals|healing|remed(y|ies)|therap\w*|medicinal|doctor|disease"
        r"|illness|health benefits?)\b",
        r"\b(lose|losing|drop|shed|burn)\b.{0,10}(\d+ ?(kg|kilos?|pounds|lbs)|weight|fat)\b"
        r"|\bweight ?loss\b|\bdetox|\bfat burn|\bslimming\b",
    ),
    "legal": _any(
        r"起诉|诉状|告(你们|你|商家|快递|他们|店)|律师|法院|打官司|违法|犯法|合法|非法|法律",
        r"消费者权益|消协|维权|12315|工商局|市场监管|仲裁|索赔|侵权|报警|举报",
        r"\b(sue|suing|sued|lawsuit|lawyer|attorney|court|small claims|legal\w*|illegal\w*"
        r"|lawful|unlawful|consumer (protection|rights|council)|chargeback|police|regulators?"
        r"|liable|liability|trademark|copyright)\b|\breport (you|u|your shop)\b",
        # a document made to say what did not happen: an inflated invoice, a fake receipt
        r"(发票|收据|小票|账单).{0,12}(多开|多写|开多|开高|写高|开大|虚开|(改|写|开)(高|大|多)(点|些)?金额"
        r"|金额(写|开|改)(高|大|多))|(多开|多写|虚开|开高|写高|开大)(点|些|一点|一些)?.{0,8}(发票|金额|收据)"
        r"|\d+[^，,。？?]{0,6}开成\s*\d+|假(发票|收据|合同)",
        r"\b(higher|bigger|larger|inflated|extra|fake|false|different) (amount|total|price|figure|sum"
        r"|number|value)\b.{0,30}\b(fapiao|invoice|receipt|bill)s?\b|\b(fapiao|invoice|receipt)s?\b"
        r".{0,40}\b(higher|inflated|bigger amount|larger amount|more than (i|we) (paid|spent)"
        r"|instead of)\b|\b(fake|forged?|falsif\w*|backdat\w*|doctored)\b.{0,15}\b(fapiao"
        r"|invoice|receipt)s?\b|\bclaim (back )?more\b.{0,20}\b(work|company|boss|employer|office"
        r"|expenses?|reimburse\w*)\b",
    ),
    "financial": _any(
        r"投资|升值|保值(?!期)|增值(?!税)|理财|股票|基金|炒茶|回报率|收益|赚钱|翻倍|抵.{0,2}税|个税|报税|避税|贷款",
        r"\b(invest|investment|investing|savings|retirement|portfolio|stocks|stock (market|price|tips?)|shares|crypto"
        r"|bitcoin|profit|make money|roi|loans?|borrow(ing)? money|mortgage)\b",
        r"\b(appreciate|double|triple|grow|rise|go up)\b.{0,6}\bin (value|price)\b"
        r"|\bworth more\b|\bresale value\b|\breturn on\b",
        r"\b(write[- ]?off|tax (deduct\w*|break|write))\b|\bdeduct\w* .{0,20}tax(es)?\b"
        r"|\bbusiness expense\b|\bdeduct(ible|ion)?\b",
    ),
}


def risk_of(text: str) -> str | None:
    """The first of :data:`RISKS` whose wordings ``text`` (folded, lower-cased) has, or None."""
    return next((risk for risk in RISKS if PATTERNS[risk].search(text)), None)
