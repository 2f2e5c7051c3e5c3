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
  "a11y.name.copy": "复制名称",
  "a11y.name.copyOf": "复制名称 {name}",
  "a11y.name.copyPath": "复制路径",
  "a11y.name.copied": "已复制。",
  "a11y.name.copyFailed": "浏览器拒绝访问剪贴板，请手动选中名称后复制。",
  "a11y.name.escapes": "含转义显示：⏎ 表示换行，\\t 表示制表符，\\xE9 表示非 UTF-8 字节。复制得到的是 API 中的名称{b64}。",
  "a11y.name.escapesB64": "（其字节的 base64 编码）",
  "a11y.name.notUtf8Directory": "名称不是 UTF-8 的目录",
  "a11y.name.path": "路径",
  "a11y.dialog.close": "关闭",
  "a11y.browse.keys": "键盘操作：↑ ↓ 移动，空格选中，Shift+↑ ↓ 扩展选择，回车打开。",
  "a11y.browse.selectRow": "选择 {name}",
  "a11y.browse.unselect": "取消选择 {name}",
  "a11y.browse.details": "详情",
  "a11y.versions.title": "{name} 的历史版本",
  "a11y.run.progress": "进度",
  "a11y.run.connection.loading": "加载中",
  "a11y.run.connection.connecting": "连接中",
  "a11y.run.connection.live": "实时",
  "a11y.run.connection.reconnecting": "重新连接中",
  "a11y.run.connection.ended": "已结束",
  "a11y.run.connection.stopped": "已停止",
  "a11y.restore.remove": "从所选内容中移除 {name}",
  "a11y.overview.strip": "最近 {days} 天：成功 {success} 次，失败 {failed} 次，其他 {other} 次",
  // ── end names and accessibility

  // ── charts
  // ── end charts
};
