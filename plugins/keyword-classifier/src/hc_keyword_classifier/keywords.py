"""The built-in keyword table: which words point to which complaint category.

This module is data only. How a keyword is matched:

- A keyword that contains a Chinese (CJK) character matches anywhere in the text, because
  Chinese has no spaces between words: ``"坏了"`` matches ``"CT机坏了"``.
- Any other keyword is English: it matches case-insensitively as a whole word, with an optional
  ending ``s / es / ed / d / ing / ly / ness`` (``"wait"`` matches ``"waited"`` and
  ``"Waiting"``, and ``"rude"`` does not match ``"prudent"``). A keyword ending in ``*``
  matches any word that starts with it (``"misdiagnos*"`` matches ``"misdiagnosis"``).
  Spaces inside a keyword match any run of whitespace.
- Where keywords overlap, the longest one at a position wins, so ``"延误病情"``
  (patient safety) is not also counted as ``"延误"`` (process management).
- A keyword directly after a negation (``不 / 没 / 没有 / 未 / 无``, ``not / no / never /
  n't``) is ignored: ``"设备没有故障"`` is not an equipment fault. Where the negation *is* the
  complaint (``"没解释"``, ``"didn't explain"``), the table lists the whole phrase.

A site extends or overrides this table with a JSON file named in ``HC_KEYWORDS_FILE`` (see
:mod:`hc_keyword_classifier.table`). ``Category.OTHER`` has no keywords on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hospital_complaints.plugin_api import Category

_KEYWORDS: dict[Category, tuple[str, ...]] = {
    # 流程管理: waiting, queues, appointments, report turnaround, running around, billing.
    Category.PROCESS_MANAGEMENT: (
        "等待", "排队", "等了", "太久", "等太久", "等很久", "久等", "等候", "一直等",
        "叫号", "过号", "插队", "没轮到", "预约不上", "约不上", "预约太晚", "改约", "推迟",
        "延迟", "延误", "拖延", "耽误",
        "报告出得慢", "报告出来太慢", "报告太慢", "报告慢", "出报告慢", "报告迟迟",
        "报告还没出", "报告没出来", "报告一直没出", "拿不到报告", "取不到报告", "报告延迟",
        "报告超时", "等报告", "催报告",
        "来回跑", "跑了好几趟", "多次往返", "流程繁琐", "流程混乱", "手续繁琐", "指引不清",
        "找不到地方", "乱收费", "多收费", "重复收费", "重复缴费", "退费",
        "wait", "queu*", "delay", "long wait", "took too long", "too long",
        "report not ready", "report late", "report was late", "still no report", "results late",
        "appointment cancelled", "appointment canceled", "rescheduled", "overcharg*",
    ),
    # 服务态度: how staff treated the patient.
    Category.SERVICE_ATTITUDE: (
        "态度", "不耐烦", "凶", "态度差", "态度恶劣", "态度冷漠", "冷漠", "恶劣", "吼",
        "呵斥", "训斥", "骂", "嘲笑", "讽刺", "白眼", "给脸色", "甩脸色", "脸色难看",
        "爱答不理", "爱理不理", "不理人", "不理睬", "没人理", "没人管", "无人理会", "推诿",
        "踢皮球", "敷衍", "不尊重", "不礼貌", "没礼貌", "玩手机", "嫌弃",
        "rude", "impolite", "disrespect*", "unfriendly", "shout*", "yell*", "arrogant",
        "dismissive", "condescending", "impatient", "bad attitude", "attitude", "ignor*",
        "laughed at", "mocked", "unprofessional",
    ),
    # 设备故障: scanners, kiosks, printers and the systems behind them.
    Category.EQUIPMENT_FAULT: (
        "机器", "设备", "故障", "坏了", "死机", "报错", "停机", "宕机", "维修", "检修",
        "无法开机", "开不了机", "卡住", "自助机", "打印机", "打印不出", "胶片打不出",
        "系统故障", "系统崩溃", "系统瘫痪", "断网",
        "broken", "broke down", "machine", "out of order", "out of service", "equipment",
        "faulty", "technical fault", "malfunction*", "breakdown", "not working",
        "stopped working", "printer", "kiosk", "system crash*", "system down",
    ),
    # 技术质量: the exam and the report were wrong or poor.
    Category.TECHNICAL_QUALITY: (
        "误诊", "漏诊", "片子不清", "片子模糊", "图像模糊", "图像不清", "伪影",
        "报告有误", "报告错误", "报告写错", "报告错了", "报告不准", "报告不对",
        "报告与实际不符", "结果不准", "诊断错误", "诊断不一致", "结果不一致", "前后不一致",
        "错别字", "左右写反", "左右颠倒", "部位错", "拍错", "查错部位", "扫描不全", "漏扫",
        "没查出来", "没看出来", "重拍", "重新拍", "重做", "技术差", "水平差", "不专业",
        "扎了好几针", "穿刺失败",
        "misdiagnos*", "missed diagnosis", "wrong diagnosis", "report wrong",
        "wrong report", "report was wrong", "report is wrong", "incorrect report",
        "report was incorrect", "mistake in the report", "mistakes in the report",
        "error in the report", "errors in the report", "blurry", "blurred", "unclear image*",
        "poor image*", "image quality", "rescan", "repeat scan", "wrong side",
        "wrong body part", "typo*",
    ),
    # 沟通解释: nobody explained, or the explanation could not be understood.
    Category.COMMUNICATION: (
        "没解释", "没有解释", "不解释", "没人解释", "没有人解释", "无人解释", "未解释",
        "解释不清", "沟通", "没沟通", "没有沟通", "不沟通", "缺乏沟通", "未沟通",
        "听不懂", "看不懂", "未告知", "没告知", "没有告知", "不告知", "没告诉", "没有告诉",
        "没人告诉", "不告诉", "没说明", "不说明", "没通知", "没有通知", "未通知",
        "交代不清", "说不清", "含糊其辞", "答非所问", "一问三不知", "不回复", "联系不上",
        "explain", "didn't explain", "did not explain", "never explained", "not explained",
        "wasn't explained", "no explanation", "nobody explained", "no one explained",
        "not informed", "wasn't informed", "weren't informed", "not told", "wasn't told",
        "never told", "didn't tell", "nobody told", "no one told", "confusing",
        "couldn't understand", "could not understand", "communication",
    ),
    # 隐私保护: personal data and bodily privacy.
    Category.PRIVACY: (
        "隐私", "泄露", "泄漏", "泄密", "个人信息", "信息被卖", "推销电话", "骚扰电话",
        "偷拍", "被拍照", "没拉帘子", "不拉帘子", "没有遮挡", "门没关", "没关门", "当众",
        "叫全名", "念出名字", "被别人看到", "别人看到",
        "privacy", "leak*", "data breach", "breach", "personal information",
        "personal data", "confidential*", "disclos*", "overheard", "spam calls",
        "no curtain", "called out my name",
    ),
    # 医疗安全: radiation, contrast reactions, falls, wrong patient, infection.
    Category.PATIENT_SAFETY: (
        "辐射", "辐射泄漏", "造影剂", "过敏", "过敏反应", "外渗", "渗漏", "起疹子", "皮疹",
        "呼吸困难", "休克", "晕倒", "摔倒", "跌倒", "坠床", "摔伤", "受伤", "烫伤",
        "铅衣", "没有防护", "没防护", "怀孕", "孕妇", "起搏器", "金属", "照错人", "弄错病人",
        "搞错人", "拿错报告", "给错报告", "别人的报告", "延误病情", "耽误病情", "延误治疗",
        "病情加重", "感染", "没消毒", "未消毒", "不消毒",
        "radiation", "radiation leak", "contrast reaction", "contrast agent", "contrast dye",
        "contrast medium", "contrast media", "allergic reaction", "allerg*",
        "extravasation", "fell off", "fell down", "slipped", "injur*", "burn", "pregnan*",
        "pacemaker", "metal", "wrong patient", "someone else's report", "infection", "unsafe",
        "lead apron",
    ),
}

#: The built-in table, read-only. Copy it (``dict(DEFAULT_KEYWORDS)``) to build your own.
DEFAULT_KEYWORDS: Mapping[Category, tuple[str, ...]] = MappingProxyType(_KEYWORDS)
