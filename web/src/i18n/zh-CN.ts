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
  "charts.title": "趋势",
  "charts.empty": "还没有快照，首次备份完成后会显示图表。",
  "charts.none": "暂无数据。",
  "charts.values": "查看数据",
  "charts.column.snapshot": "快照",
  "charts.column.run": "运行",
  "charts.column.duration": "耗时",
  "charts.column.files": "变更文件数",
  "charts.size.title": "快照大小",
  "charts.size.label": "最近 {count} 个快照的存储占用与源数据大小",
  "charts.size.stored": "存储占用",
  "charts.size.source": "源数据",
  "charts.duration.title": "备份耗时",
  "charts.duration.label": "最近 {count} 次成功备份的耗时",
  "charts.changes.title": "每次运行的文件变更",
  "charts.changes.label": "最近 {count} 个快照中新增、修改或删除的文件数",
  "charts.changes.note": "与上一个快照相比新增、修改和删除的文件数；首个快照计入全部文件。",
  "charts.changes.counting": "正在统计变更…",
  "charts.changes.first": "{count}（首个快照）",
  "charts.changes.unknown": "未能统计",
  "charts.changes.pending": "统计中…",
  // ── end charts
};
