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
  // ── end charts
};
