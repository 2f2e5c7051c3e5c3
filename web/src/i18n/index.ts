// The UI's languages (docs/ui.md, "Languages"): one catalogue per language, a typed lookup, and formatting of dates,
// numbers and sizes for the chosen language. The language follows the browser until the user picks one (remembered
// in localStorage); changing it re-renders the app (`useLanguage`). English is in the first load (every lookup falls
// back to it); another language's catalogue is its own chunk, loaded before the first render that needs it.
import { createElement, Fragment, useSyncExternalStore, type ReactNode } from "react";
import { en, type MessageKey } from "./en";

export type { MessageKey } from "./en";
export type Language = "en" | "zh-CN";

export const languages: { code: Language; name: string }[] = [
  { code: "en", name: "English" },
  { code: "zh-CN", name: "简体中文" },
];

const catalogues: Partial<Record<Language, Record<MessageKey, string>>> = { en };
const loaders: Record<Language, () => Promise<Record<MessageKey, string>>> = {
  en: async () => en,
  "zh-CN": async () => (await import("./zh-CN")).zhCN,
};

/** Loads `lang`'s catalogue (once; a chunk of its own); `t` answers in English until it is there. */
export async function loadCatalogue(lang: Language): Promise<void> {
  if (!catalogues[lang]) catalogues[lang] = await loaders[lang]();
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

/**
 * Switches the language, remembers it, and re-renders every component that called `useLanguage` once its catalogue
 * is loaded (at once when it is).
 */
export function setLanguage(next: Language): void {
  if (!catalogues[next]) {
    void loadCatalogue(next).then(() => setLanguage(next), () => undefined);
    return;
  }
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

/** Whether `key` is in the catalogue (a key made from a server's value, e.g. a status). */
export const isMessageKey = (key: string): key is MessageKey => Object.prototype.hasOwnProperty.call(en, key);

/** `t(key)` for a key made from a server's value, or `fallback` (the value itself) when the catalogue has no such key. */
export function tOr(key: string, fallback: string, values?: Record<string, string | number>): string {
  return isMessageKey(key) ? t(key, values) : fallback;
}

/**
 * The text for `key` with some `{name}`s replaced by elements (a link inside a sentence): the sentence stays whole in
 * the catalogue, so each language puts the link where its grammar wants it.
 */
export function tNodes(key: MessageKey, nodes: Record<string, ReactNode>, values?: Record<string, string | number>): ReactNode[] {
  return t(key, values)
    .split(/(\{\w+\})/)
    .map((part, index) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      return createElement(Fragment, { key: index }, name !== undefined && name in nodes ? nodes[name] : part);
    });
}

/** The same lookup in a given language (tests, and the catalogue check). */
export function translate(lang: Language, key: MessageKey, values?: Record<string, string | number>): string {
  const saved = current;
  current = lang;
  try {
    return t(key, values);
  } finally {
    current = saved;
  }
}

/** `lang`'s catalogue, once `loadCatalogue(lang)` has loaded it. */
export const catalogueFor = (lang: Language): Record<MessageKey, string> | undefined => catalogues[lang];

/** A number for people in the current language (grouping, decimals). */
export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(current, options).format(value);
}
