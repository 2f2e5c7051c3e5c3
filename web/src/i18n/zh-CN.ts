// 简体中文目录：与 en.ts 的键完全相同（类型检查会拒绝缺少或多余的键）。译文应自然、地道，而非逐字直译。
import type { MessageKey } from "./en";

export const zhCN: Record<MessageKey, string> = {
  // ── shell: navigation, language, theme, footer
  "app.name": "Bastion",
  "nav.overview": "概览",
  "nav.jobs": "任务",
  "nav.runs": "运行记录",
  "nav.agents": "代理",
  "nav.settings": "设置",
  "nav.main": "主导航",
  "lang.label": "语言",
  "theme.toggle": "切换深色模式",
  "theme.current": "主题：{theme}",
  "auth.signOut": "退出登录",
  "app.notFound": "这里什么也没有。",
  "app.notFoundLink": "返回概览。",
  "app.insecureHttp":
    "此 Bastion 接受来自其他机器的明文 HTTP（--insecure-http）：密码和会话 Cookie 将以未加密的形式在网络上传输。请在它前面配置 HTTPS。",
  "footer.versions": "Bastion {version} · 界面 {ui}",
  "footer.hubZone": " · 中心时区 {zone}",
  // ── end shell

  // ── common: buttons, states, units and formats used on many pages
  // formats (web/src/lib/format.ts, stages.ts)
  "format.duration.s": "{s} 秒",
  "format.duration.ms": "{m} 分 {s} 秒",
  "format.duration.hm": "{h} 小时 {m} 分",
  "format.duration.dh": "{d} 天 {h} 小时",
  "format.span.s": "{n} 秒",
  "format.span.m": "{n} 分钟",
  "format.span.h": "{n} 小时",
  "format.span.d": "{n} 天",
  "format.justNow": "刚刚",
  "format.in": "{span}后",
  "format.ago": "{span}前",
  "format.stage.ms": "{ms} 毫秒",
  "format.stage.seconds": "{s} 秒",
  "format.stage.underSecond": "不到 1 秒",
  // run statuses, kinds and stages, as the server names them
  "common.status.queued": "排队中",
  "common.status.running": "运行中",
  "common.status.success": "成功",
  "common.status.failed": "失败",
  "common.status.canceled": "已取消",
  "common.status.rejected": "已拒绝",
  "common.status.canceling": "正在取消",
  "common.status.never": "从未运行",
  "common.kind.backup": "备份",
  "common.kind.restore": "恢复",
  "common.kind.verify": "校验",
  "common.kind.copy": "复制",
  "common.stage.snapshot": "快照",
  "common.stage.scan": "扫描",
  "common.stage.packaging": "打包",
  "common.stage.upload": "上传",
  "common.stage.index": "索引",
  "common.stage.verify": "校验",
  "common.stage.restore": "恢复",
  "common.stage.copy": "复制",
  "common.stage.dump": "导出",
  // generic words
  "common.loading": "加载中…",
  "common.close": "关闭",
  "common.cancel": "取消",
  "common.edit": "编辑",
  "common.runNow": "立即运行",
  "common.newJob": "新建任务",
  "common.createFirstJob": "创建第一个任务",
  "common.previous": "上一页",
  "common.next": "下一页",
  "common.pages": "分页",
  "common.pageOf": "第 {page} 页，共 {pages} 页",
  "common.actions": "操作",
  "common.name": "名称",
  "common.size": "大小",
  "common.modified": "修改时间",
  "common.manual": "手动",
  "common.never": "从未",
  "common.archived": "已归档",
  "common.verify": "校验",
  "common.restore": "恢复",
  "common.agentShort": "代理 {id}",
  "common.choose": "请选择…",
  "common.settings": "设置",
  // shared pieces (components.tsx)
  "common.error.request": "请求 {id}",
  "common.runStarted.rejected": "已拒绝：已有运行在进行",
  "common.runStarted.queued": "已排队",
  "common.runStarted.open": "查看运行",
  "common.test.button": "测试连接",
  "common.test.busy": "测试中…",
  "common.test.steps": "连接测试步骤",
  "common.test.step.connect": "连接",
  "common.test.step.create": "创建",
  "common.test.step.write": "写入",
  "common.test.step.read": "读取",
  "common.test.step.delete": "删除",
  "common.location.legend": "读取位置",
  "common.location.hint": "此快照存放在多个位置，每处的文件都相同。默认选用第一个状态正常的位置。",
  "common.location.primary": "主目标",
  "common.location.copy": "副本",
  "common.location.status.present": "可用",
  "common.location.status.deleting": "删除中",
  "common.location.status.deleted": "已删除",
  "common.location.status.missing": "缺失",
  "common.location.status.error": "出错",
  "common.location.status.failed": "失败",
  "common.location.status.copying": "复制中",
  // ── end common

  // ── pages: overview, jobs, runs, run page, agents, login, setup, recovery
  // ── end pages

  // ── job editor and job page
  // ── end job editor and job page

  // ── browse, restore, compare
  // ── end browse, restore, compare

  // ── settings: targets, credentials, notifications, keys, system, runtime
  // ── end settings

  // ── names and accessibility
  // ── end names and accessibility

  // ── charts
  // ── end charts
};
