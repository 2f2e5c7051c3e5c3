// The UI's languages (docs/ui.md, "Languages"): one catalogue per language, a typed lookup, and formatting of dates,
// numbers and sizes for the chosen language. The language follows the browser until the user picks one (remembered
// in localStorage); changing it re-renders the app (`useLanguage`). English is in the first-load bundle; Chinese is
// its own chunk, loaded before the first render when it is the language, or when the user switches to it.
import { useSyncExternalStore } from "react";
import { en, type MessageKey } from "./en";

export type { MessageKey } from "./en";
export type Language = "en" | "zh-CN";

export const languages: { code: Language; name: string }[] = [
  { code: "en", name: "English" },
  { code: "zh-CN", name: "简体中文" },
];

const catalogues: Partial<Record<Language, Record<MessageKey, string>>> = { en };

/** Loads `lang`'s catalogue if it is not loaded yet (a separate chunk for all but English). */
export async function loadLanguage(lang: Language): Promise<void> {
  if (catalogues[lang]) return;
  if (lang === "zh-CN") catalogues[lang] = (await import("./zh-CN")).zhCN;
}
const storageKey = "bastion.lang";

/** The browser's preferred language we have: any `zh` is Simplified Chinese, anything else English. */
export function languageFor(preferences: readonly string[]): Language {
  for (const preference of preferences) {
    const lower = preference.toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

function initialLanguage(): Language {
  try {
    const stored = globalThis.localStorage?.getItem(storageKey);
    if (stored === "en" || stored === "zh-CN") return stored;
  } catch {
    // Private windows may refuse storage: follow the browser.
  }
  const nav = globalThis.navigator;
  return languageFor(nav ? (nav.languages?.length ? nav.languages : [nav.language]) : []);
}

let current: Language = initialLanguage();
const listeners = new Set<() => void>();

export function language(): Language {
  return current;
}

/** Switches the language (once its catalogue is loaded), remembers it, and re-renders every `useLanguage` caller. */
export async function setLanguage(next: Language): Promise<void> {
  await loadLanguage(next);
  if (next === current) return;
  current = next;
  try {
    globalThis.localStorage?.setItem(storageKey, next);
  } catch {
    // Not remembered in a private window; still switched.
  }
  if (globalThis.document) document.documentElement.lang = next;
  for (const listener of listeners) listener();
}

/** The current language, re-rendering the caller when it changes (the app shell keys its pages on it). */
export function useLanguage(): Language {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
  );
}

/** The text for `key` in the current language, with each `{name}` replaced by `values[name]`. */
export function t(key: MessageKey, values?: Record<string, string | number>): string {
  const text = catalogues[current]?.[key] ?? en[key] ?? key;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/** The same lookup in a given language, once `loadLanguage(lang)` has loaded it (tests). */
export function translate(lang: Language, key: MessageKey, values?: Record<string, string | number>): string {
  const saved = current;
  current = lang;
  try {
    return t(key, values);
  } finally {
    current = saved;
  }
}


/** A number for people in the current language (grouping, decimals). */
export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(current, options).format(value);
}
