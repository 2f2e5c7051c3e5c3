import { useState } from "react";
import { Link } from "../components";
import { t } from "../i18n";
import { usePath } from "../lib/router";
import { KeysSection } from "./settings/keyEscrow";
import { KeysPage } from "./settings/Keys";
import { NotificationsPage } from "./settings/Notifications";
import { SystemPage } from "./settings/System";
import { TargetsSection } from "./settings/Targets";

// Settings (docs/ui.md, "Settings pages"): one route, tabs by `?tab=`; this file draws the tab strip and picks the
// tab, each tab is a file of its own under settings/.

export function SettingsPage() {
  const tab = settingsTab(usePath());
  if (tab === "general")
    return (
      <div className="settings">
        <h1>{t("nav.settings")}</h1>
        <SettingsTabs current="general" />
        <TargetsSection />
      </div>
    );
  return <SettingsTabPage tab={tab} />;
}

// The settings tabs (docs/ui.md, "Settings pages"): `?tab=` keeps them on the one /settings route.
type SettingsTab = "general" | "notifications" | "keys" | "system";
const settingsTabs: SettingsTab[] = ["general", "notifications", "keys", "system"];

function settingsTab(path: string): SettingsTab {
  const tab = new URLSearchParams(path.split("?")[1] ?? "").get("tab");
  return settingsTabs.find((candidate) => candidate === tab) ?? "general";
}

function SettingsTabs(props: { current: SettingsTab }) {
  return (
    <nav className="tabs settings-tabs" aria-label={t("settings.tabs.label")}>
      {settingsTabs.map((tab) => (
        <Link key={tab} to={tab === "general" ? "/settings" : `/settings?tab=${tab}`} className={tab === props.current ? "active" : undefined}>
          <span aria-current={tab === props.current ? "page" : undefined}>{t(`settings.tabs.${tab}`)}</span>
        </Link>
      ))}
    </nav>
  );
}

function SettingsTabPage(props: { tab: Exclude<SettingsTab, "general"> }) {
  const [keysVersion, setKeysVersion] = useState(0);
  return (
    <div className="settings">
      <h1>{t("settings.tabs.title")}</h1>
      <SettingsTabs current={props.tab} />
      {props.tab === "notifications" && <NotificationsPage />}
      {props.tab === "keys" && (
        <>
          <KeysPage onChanged={() => setKeysVersion((version) => version + 1)} />
          <KeysSection key={keysVersion} />
        </>
      )}
      {props.tab === "system" && <SystemPage />}
    </div>
  );
}
