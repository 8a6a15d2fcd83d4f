"""Asks about something other than the shop: the nearest FAQ entry is not an answer.

Retrieval always finds a nearest entry, and a look-alike can sit very near one:
"how long does cooked rice keep in the fridge" shares its words with the
shelf-life entry, "how do I track a DHL parcel I ordered on Amazon" with the
tracking entry, "what temperature should I bake bread at" with the water
temperature section. A shop's KB speaks for its own tea, orders and members,
so a message about other things needs a much stronger match before the bot
answers it from the KB:

- a job for a general assistant (write a poem, translate, homework, code, sums);
- the weather, travel and places to go, films, music, sport, games;
- goods and food that are not tea (phones, wine, coffee beans, eggs, bread);
- pets and idle chat ("I'm bored");
- another marketplace, courier or service (Amazon, Taobao, DHL, a video plan);
- stock and restocking (what is on the shelf today is not something a KB knows);
- tea lore a shop's FAQ does not cover (its history, how a tea is made, growing it).

Each is a family of wordings in Chinese and English, checked only after the
complaint and risk screening (:mod:`knowledge.screening`). A wording the KB
itself uses is dropped when the answerer is built: a shop whose guide warns
against storing tea beside leftovers, or that sells coffee beans, has made
those words its own topic. And a match does not veto an answer by itself: it
raises the confidence an answer needs
(:data:`knowledge.answerer.OFF_TOPIC_CONFIDENCE`), so an in-domain question
that happens to mention one ("can I pay on Taobao?") is still answered when
its match is strong.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

from knowledge.text import tokenize

#: each family's wordings; one without Chinese is matched as whole words (``\b`` both sides)
FAMILIES: dict[str, tuple[str, ...]] = {
    # a job for a general assistant
    "task": (
        r"(write|compose|draft)\b.{0,20}\b(poems?|stor(y|ies)|essays?|songs?|lyrics|speech"
        r"|code|scripts?|functions?|programs?|haiku|articles?|cv|resume)",
        r"translat(e|ion|ing)", r"homework", r"assignment", r"algebra", r"equation",
        r"python", r"javascript", r"sql", r"html", r"css", r"excel formula", r"regex",
        r"programming", r"coding", r"debug\w*",
        r"\d+ ?(times|plus|minus|divided by|multiplied by|[*×÷]) ?\d+",
        r"(写|作)(一|几)?(首|篇|段|封|个)?(诗|文章|作文|小说|故事|歌词|代码|程序|简历|演讲稿)",
        "翻译", "作业", "数学题", "编程", r"\d\s*(乘以|除以|加上|减去)\s*\d",
    ),
    # the weather, travel and places, entertainment, sport
    "world": (
        r"weather", r"forecast", r"rain(s|ing|y)?", r"snow(s|ing|y)?", r"typhoon", r"sunny",
        r"hotels?", r"hostels?", r"restaurants?", r"airports?", r"flights?", r"airlines?",
        r"train station", r"(high-speed |bullet )?trains?", r"bus(es)?", r"subway", r"metro", r"taxi", r"sightseeing", r"tourist",
        r"itinerar(y|ies)", r"how (do|can|should) (i|we) get (to|from)",
        r"movies?", r"films?", r"tv shows?", r"netflix", r"spotify", r"youtube", r"tiktok",
        r"music", r"songs?", r"sing", r"singer", r"celebrit(y|ies)", r"football", r"soccer",
        r"basketball", r"nba", r"world cup", r"video games?", r"gaming", r"election",
        r"president",
        "天气", "下雨", "下雪", "台风", "晴天", "阴天", "带伞", "预报",
        "酒店", "宾馆", "民宿", "餐厅", "饭店", "好吃的", "美食", "景点", "旅游", "攻略", "机场",
        "航班", "机票", "高铁", "火车", "动车", "车票", "公交", "地铁", "打车", "怎么走",
        r"novels?", r"podcasts?", r"politics", r"political",
        r"exchange rate", r"mortgage", r"real estate", r"meaning of life",
        r"learn(ing)? (english|chinese|mandarin|french|japanese|a language|to code)",
        "电影", "电视剧", "综艺", "唱歌", "唱首", "听歌", "歌曲", "音乐", "明星", "球赛", "足球",
        "篮球", "世界杯", "游戏", "选举", "总统", "小说", "政治", "汇率", "房价", "租房",
        "学(英语|日语|中文|编程)",
    ),
    # goods and food that are not tea
    "goods": (
        r"iphone", r"android", r"smartphones?", r"phone cases?", r"laptops?", r"ipad", r"router",
        r"wi-?fi", r"headphones", r"earbuds", r"cameras?", r"tv", r"rice cooker",
        r"coffee (machines?|makers?|beans|pods)", r"espresso", r"latte", r"cappuccino",
        r"americano", r"wine", r"beer", r"sake", r"whisk(e)?y", r"vodka", r"cocktails?",
        r"kombucha", r"bubble tea", r"boba", r"milk tea", r"smoothies?", r"juice", r"soda", r"cola",
        r"cosmetics", r"make-?up", r"skincare", r"perfume", r"clothes", r"shoes", r"furniture",
        r"sofa", r"bicycles?", r"bikes?",
        r"recipes?", r"cooking", r"bake", r"baking", r"fry", r"frying", r"eggs?", r"bread",
        r"rice", r"pasta", r"noodles", r"soup", r"chicken", r"beef", r"pork", r"vegetables?",
        r"strawberr(y|ies)", r"bananas?", r"cookies", r"leftovers?",
        "手机(壳|膜|套)", "(买|换|推荐|修).{0,3}(手机|电脑)", "电脑(坏|卡|推荐)", "笔记本", "平板",
        "路由器", "耳机", "相机", "电视(?!剧)", "电饭煲", "咖啡机", "咖啡豆", "拿铁", "红酒", "啤酒",
        "白酒", "洋酒", "奶茶", "康普茶", "果汁", "可乐", "汽水", "化妆品", "护肤品", "口红", "香水",
        "衣服", "鞋", "家具", "沙发", "汽车", "自行车",
        "菜谱", "做饭", "做菜", "炒菜", "烤(面包|蛋糕|箱|肉|鸡)", "鸡蛋", "面包", "米饭", "剩饭",
        "剩菜", "面条", "蔬菜", "草莓", "香蕉",
    ),
    # pets and idle chat
    "chat": (
        r"pupp(y|ies)", r"kittens?", r"pets?",
        r"(i'?m|im|i am|so) (bored|lonely)", r"talk to me", r"something funny",
        "宠物", "猫咪", "小狗", "无聊", "寂寞", "陪我", "段子",
    ),
    # another marketplace, courier or service
    "elsewhere": (
        r"amazon", r"ebay", r"aliexpress", r"taobao", r"tmall", r"jd\.com", r"pinduoduo", r"temu",
        r"jd (order|app|account|store|shop)", r"passwords?",
        r"(physical|brick[- ]and[- ]mortar|offline|walk-in) (store|shop)s?",
        r"visit (your|the|ur) (store|shop|tea ?house)",
        r"shein", r"walmart", r"costco", r"starbucks", r"uber", r"airbnb",
        "淘宝", "天猫", "京东(?!快递|物流)", "拼多多", "美团", "饿了么", "亚马逊", "山姆", "开市客",
        "星巴克",
        "瑞幸", "密码", "线下店", "实体店", "门店", "视频会员", "爱奇艺", "优酷", "腾讯视频", "自动续费",
    ),
    # stock and restocking: what is on the shelf today is not in a KB
    "stock": (
        r"re-?stock\w*", r"back in stock", r"(out of|in) stock", r"sold out",
        "补货", "到货通知", "缺货", "断货", "卖完了", "售罄", "卖光",
    ),
    # tea lore a shop's FAQ does not cover
    "lore": (
        r"history of", r"invented", r"discovered",
        r"how (is|are) \w+( \w+){0,2} (made|produced|processed)", r"grow(ing)? (my own |a |some )?tea",
        r"tea (plants?|bush(es)?|trees?)", r"matcha",
        "历史(?!订单|记录)", "起源", "由来", "怎么做出来", "怎么制作", "制作工艺", "茶树", "抹茶",
    ),
}  # fmt: skip

_CJK = re.compile(r"[\u3400-\u9fff]")
#: goods asked for by name: "do you sell X", "你们卖X吗", "有没有卖X"
_SELLS = (
    re.compile(
        r"\b(?:do|does|can|could) (?:you|u|ya|y'?all|the shop|your (?:shop|store))(?: guys)? "
        r"(?:sell|carry|stock)\b(?P<goods>[^?.!,;]{1,40})"
    ),
    re.compile(r"(?:卖|出售)(?P<goods>[^吗么嘛呢？?，,。！!\s]{1,10})(?:吗|么|嘛|不|没)"),
    re.compile(r"有没有卖(?P<goods>[^吗么嘛呢？?，,。！!\s]{1,10})"),
)


_PATTERN = re.compile(
    "|".join(
        f"(?:{pattern})" if _CJK.search(pattern) else rf"(?:\b(?:{pattern})\b)"
        for patterns in FAMILIES.values()
        for pattern in patterns
    )
)
#: how many wordings :class:`OffTopic` remembers the KB's use of
USED_CACHE = 1024


class OffTopic:
    """Off-topic by wording (a :data:`FAMILIES` wording the KB never uses), or by vocabulary:
    a message that shares no term with the KB, or asks whether the shop sells goods the KB
    never names (``known``: the KB's BM25 terms, as :func:`knowledge.text.tokenize` cuts them).

    Whether the KB uses a wording is looked up when a message first says it (a 10k-chunk KB
    is megabytes of text: checking every wording up front would take seconds)."""

    def __init__(self, kb_texts: Iterable[str], known: Collection[str] = ()) -> None:
        self._kb = _fold("\n".join(kb_texts))
        self.known = known
        #: wording said by a member → whether the KB uses it too
        self._used: dict[str, bool] = {}

    def __call__(self, question: str) -> bool:
        """Whether ``question`` is about something other than the shop (see the module)."""
        text = _fold(question)
        if any(not self._kb_uses(m.group(0)) for m in _PATTERN.finditer(text)):
            return True
        if not self.known:
            return False
        if self._unknown(text):
            return True
        return any((m := sell.search(text)) and self._unknown(m["goods"]) for sell in _SELLS)

    def _kb_uses(self, wording: str) -> bool:
        used = self._used.get(wording)
        if used is None:
            if len(self._used) >= USED_CACHE:
                self._used.clear()
            whole_word = not _CJK.search(wording)
            used = self._used[wording] = _occurs(wording, self._kb, whole_word)
        return used

    def _unknown(self, text: str) -> bool:
        """``text`` has terms, and the KB uses none of them."""
        terms = tokenize(text)
        return bool(terms) and not any(term in self.known for term in terms)


def _occurs(wording: str, text: str, whole_word: bool) -> bool:
    """``wording`` in ``text`` (as a whole word): a plain substring search, which is
    milliseconds over megabytes where a ``\\b`` regex takes a third of a second."""
    start = text.find(wording)
    while start >= 0:
        end = start + len(wording)
        if not whole_word or (
            not _is_word(text[start - 1 : start]) and not _is_word(text[end : end + 1])
        ):
            return True
        start = text.find(wording, start + 1)
    return False


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()
