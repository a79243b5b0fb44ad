"""F1: a built-in Chinese help page for the screen in front of the clerk.

For every page: what it is for, how to fill it, and which plan asks for it (quoted from the plans
the program follows: 正宁县、沈阳市、吉林省、商丘市“十四五”城乡社区服务体系建设规划).  No network
and no browser are needed: the text is here and shown in a plain window.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

ZHENGNING = "《正宁县“十四五”城乡社区服务体系建设规划》"
SHENYANG = "《沈阳市“十四五”城乡社区服务体系建设规划》"


@dataclass(frozen=True)
class Help:
    purpose: str  # 这一页做什么
    how: str  # 怎么填
    basis: str  # 哪个规划要求它（原文）


HELP: dict[str, Help] = {
    "facility": Help(
        "登记本村（社区）的服务设施：党群服务中心、养老、卫生、文化体育等场所，以及面积和开放时间。",
        "点“新建”逐个登记；名称、类别、状态必填。建筑面积和居民活动区域面积按平方米填写，"
        "居民活动区域面积不能大于建筑面积。设施拆除或停用时把状态改为“停用”，不要删除。",
        f"{ZHENGNING}专栏1：“每百户居民拥有社区综合服务设施面积 ≥ 30 平方米”；"
        "“居民活动区域面积占社区综合服务设施总建筑面积比例 ≥ 60%”。"),
    "staff": Help(
        "登记社区工作者（村“两委”成员、专职网格员、社工等）和他们参加的培训。",
        "“社区工作者”页点“新建”登记人员，公民身份号码填18位，填好后性别、出生日期自动带出；"
        "职务可多选：按Tab进入这一组，用空格键勾选。“培训记录”页先在上面选中一位工作者，再点“新建”。",
        f"{ZHENGNING}专栏1：“每万城镇常住人口拥有社区工作者 18 人”；"
        f"{SHENYANG}：“城市社区工作者中取得社会工作职业资格证书人数 ≥40%”。"
        "“培训到期”页按吉林省规划专栏4-1（书记、主任每年培训一次，其他成员每2年至少一次，自上次培训起算）"
        "和沈阳市规划专栏8-1（每年不少于3天）列出每人的应培训日期。"),
    "volunteer": Help(
        "登记志愿者、志愿服务队，以及每次志愿服务的时长。",
        "“志愿者”页登记人员；“服务时长”页先选中一位志愿者再点“新建”，日期不能晚于今天，"
        "时长按小时填写。下方“合计”是当前筛选范围内的人次和小时数。",
        f"{ZHENGNING}：“充分调动社会组织、社会工作者、志愿者和慈善资源等社会力量”参与社区服务。"
        "志愿服务记录按《志愿服务记录与证明出具办法》（民政部令第67号）：活动结束后10个工作日内登记，"
        "“培训表彰”页登记培训、表彰和评价；志愿服务证明通过全国志愿服务信息系统出具。"),
    "service": Help(
        "记录本村（社区）每次开展的服务：日期、类别（养老、助残、未成年人等）、方式、服务对象、人次。",
        "点“新建”（或按Ctrl+N），日期不能晚于今天；月报要求当月至少有一条服务记录。"
        "月报已提交后再修改当月记录，程序会先提示，保存后请在“月报与同步”中重新提交。",
        f"{ZHENGNING}：“以服务全体居民为目标，以服务老年人、残疾人、未成年人和困难家庭为重点”。"),
    "social_org": Help(
        "登记在本村（社区）活动的社区社会组织（备案或登记）。",
        "点“新建”，填名称、类型、备案或登记情况和负责人。",
        f"{SHENYANG}专栏1：“每个城市社区社会组织数量 ≥12个”。"),
    "elderly": Help(
        "特殊困难老年人名册：需要每月探访的独居、空巢、失能、高龄等老人。探访时在“服务记录”里选类别"
        "“特殊困难老年人探访”，并在“探访对象”中选中这位老人，月探访率按名册计算。",
        "点“新建”登记老人：姓名、困难类型、纳入名册日期、状态必填，身份证号、电话会遮挡显示。"
        "老人迁出或去世时把状态改为“已退出”并填写退出日期，不要删除。“月报与同步”的检查项会列出本月还没探访的老人。",
        "吉林省规划专栏2-2、商丘市规划专栏2-2：“特殊困难老年人月探访率达到100%”。"),
    "periods": Help(
        "每月月底把上个月的台账报给乡镇：先看检查项，再提交；也在这里与县服务器同步、导出离线数据包。",
        "最上面一句话说明本月的状态和下一步。检查项全是“√”后点“提交月报…”，看一遍要提交的内容再点"
        "“确认提交”。乡镇审核之前发现错误可以“撤回提交…”；提交后又修改了记录，请点“重新提交月报…”。"
        "没有网络时点“导出数据包…”，用U盘交给乡镇，拿回回执后点“导入回执…”。",
        f"{ZHENGNING}：“压实乡镇党委责任”，由乡镇审核、县民政局接收各村（社区）的台账。"),
    "indicators": Help(
        "看本村（社区）对照规划目标的达标情况，以及还缺什么。",
        "选择指标方案和年份即可，数字由台账自动算出；点数字可以看计入的记录。"
        "只有乡镇或县才能算的指标（如覆盖率）在本村只作说明。",
        f"{ZHENGNING}专栏1“‘十四五’城乡社区服务体系建设主要指标”（农村社区综合服务设施覆盖率 80% 等）。"),
    "exchange": Help(
        "用 Excel 交换台账：下载填报模板、把别人填好的工作簿导入、把本村的台账导出。",
        "先“下载填报模板”，按模板里的说明填写后再“导入”；导入前会逐行检查，"
        "有错的行会写明第几行、哪一列、怎么改，不会导入一半。",
        f"{ZHENGNING}专栏1的各项指标都由台账算出；Excel 模板方便暂时不用本程序的村（社区）报送。"),
    "review": Help(
        "乡镇（或县）审核各村（社区）报上来的月报。",
        "选月份，逐村查看检查项和记录；没问题点“审核通过”，有问题点“退回…”并写明原因"
        "（可对选中的记录逐条写意见）。",
        f"{ZHENGNING}：“压实乡镇党委责任”。"),
    "board": Help(
        "看各村（社区）按时报送的情况：按时、逾期、未提交、已退回。",
        "选近3、6或12个月；可导出 Excel 交给领导。",
        "本程序默认每月5日为上月月报的截止日（设置中可改）。"),
    "settings": Help(
        "本机单位、大字模式、备份与恢复等设置。",
        "字太小时打开“大字模式”（Ctrl+Shift+L）。请定期把备份存到U盘：电脑坏了，台账也不会丢。",
        "台账是村（社区）的工作记录，应妥善保存。"),
}


def help_html(key: str, title: str) -> str:
    h = HELP.get(key)
    if h is None:
        return f"<h2>{title}</h2><p>这一页暂时没有说明。</p>"
    return (f"<h2>{title}</h2><h3>这一页做什么</h3><p>{h.purpose}</p>"
            f"<h3>怎么填</h3><p>{h.how}</p><h3>依据</h3><p>{h.basis}</p>"
            "<p style='color:#555'>按 Esc 关闭这个说明。</p>")


def show_help(parent: QWidget, key: str, title: str) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName("help")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)  # F1 again opens a fresh one
    dialog.setWindowTitle(f"说明 — {title}")
    layout = QVBoxLayout(dialog)
    text = QTextBrowser()
    text.setObjectName("helpText")
    text.setHtml(help_html(key, title))
    layout.addWidget(text)
    buttons = QDialogButtonBox()
    buttons.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.resize(620, 460)
    dialog.open()
    return dialog


__all__ = ["HELP", "help_html", "show_help"]
