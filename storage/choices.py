"""Built-in choice lists (domain.md §3).

Choice lists are data with a version: these are the shipped defaults (version 1).
A county may extend a list; the extended list is stored in the ``choice_lists``
table with a higher version and wins over the default (see
``storage.repository.Repository.choices``).  Fields refer to a list by name.
"""

from __future__ import annotations

from storage.orgcode import LEVEL_LABELS

DEFAULT_CHOICES_VERSION = 1

DEFAULT_CHOICES: dict[str, list[str]] = {
    "org_level": list(LEVEL_LABELS.values()),
    "urban_rural": ["城市社区", "农村社区"],
    "facility_category": [
        "综合服务设施/党群服务中心", "养老服务设施", "托育/儿童之家", "卫生室/社区卫生服务站",
        "综合性文化服务中心", "体育健身场地", "应急避难场所", "微型消防站", "社会工作站(点)",
        "志愿服务站点", "警务室", "法律服务点(法律之家)", "家长学校/家庭教育服务点", "便民商业网点", "其他",
    ],
    "facility_status": ["在用", "在建", "规划", "停用"],
    "ownership": ["自有", "租借", "共享/驻区单位开放"],
    "gender": ["男", "女"],
    "political_status": ["中共党员", "中共预备党员", "共青团员", "民主党派", "群众"],
    "education": ["小学及以下", "初中", "高中/中专", "大专", "本科", "研究生"],
    "staff_role": [
        "党组织书记", "村(居)委会主任", "两委委员", "专职社区工作者", "网格员", "灾害信息员",
        "儿童主任", "残疾人专职委员", "人民调解员", "其他",
    ],
    "social_work_cert": ["无", "助理社会工作师", "社会工作师", "高级社会工作师"],
    "staff_status": ["在岗", "离岗"],
    "training_level": ["省", "市", "县", "乡"],
    "volunteer_skill": ["医疗", "法律", "教育", "心理", "文艺", "体育", "应急", "其他"],
    "service_category": [
        # 为民
        "养老", "托育", "助残", "就业", "卫生健康", "教育", "文化", "体育", "科普", "社会救助", "未成年人保护",
        # 便民
        "政务代办", "生活服务", "农资/农产品",
        # 安民
        "矛盾调解", "法律服务", "应急演练/安全宣传", "心理服务", "特殊困难老年人探访",
    ],
    "service_mode": ["窗口", "上门", "线上", "代办"],
    "service_target": [
        "老年人", "特殊困难老年人", "未成年人", "留守/困境儿童", "残疾人", "困难家庭", "退役军人",
        "失业/就业困难人员", "一般居民",
    ],
    "service_provider": ["社区工作者", "志愿者", "社区社会组织", "社会工作者", "驻区单位"],
    "satisfaction": ["满意", "基本满意", "不满意"],
    "social_org_registration": ["登记", "备案"],
    "social_org_type": ["生活服务", "公益慈善", "居民互助", "农村生产技术服务", "文体"],
    "period_status": ["未提交", "已提交", "乡镇已审核", "县已接收", "已退回"],
    # 民政部令第67号 第五条 服务类别; 第十条 评价
    "volunteer_service_type": [
        "社区服务", "扶贫济困", "助老助残", "关爱儿童", "医疗卫生", "文化教育", "科技科普", "环境保护",
        "应急救援", "法律服务", "平安建设", "文明实践", "其他",
    ],
    "consent_method": ["书面签字", "电子确认", "口头同意并登记"],
    "volunteer_event_kind": ["培训", "表彰奖励", "评价"],
    "volunteer_evaluation": ["优秀", "良好", "合格", "待改进"],
    # 特殊困难老年人 (吉林 专栏2-2, 商丘 专栏2-2: 月探访率 100%)
    "elderly_difficulty": ["独居", "空巢", "留守", "失能", "半失能", "高龄(80岁以上)", "计划生育特殊家庭",
                           "低保/特困", "重残", "其他"],
    "elderly_status": ["在册", "已退出"],
    # The working-day calendar (reports.workdays) beyond what the chinesecalendar package knows:
    # dates as YYYY-MM-DD that the county adds each year when the State Council publishes the
    # next year's holiday arrangement; they reach every PC with the choice lists at sync.
    "statutory_holidays": [],
    "adjusted_workdays": [],
    # registers that carry from month to month; a month's period record lists those confirmed unchanged
    "standing_type": ["年度基础数据", "服务设施", "社区工作者", "志愿服务队", "志愿者", "社区社会组织"],
}

# Service categories grouped as the national plan groups them (为民 / 便民 / 安民).
SERVICE_GROUPS = {
    "为民": DEFAULT_CHOICES["service_category"][:11],
    "便民": DEFAULT_CHOICES["service_category"][11:14],
    "安民": DEFAULT_CHOICES["service_category"][14:],
}
