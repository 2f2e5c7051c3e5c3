import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { t } from "./i18n";
import { apiName, namePieces } from "./lib/names";

// Shared pieces for names and accessibility (docs/ui.md, "Names" and "Accessibility"): a name shown with its
// escapes visible and whole on hover, a button that copies the API's form of a name, and a modal dialog that
// takes focus, keeps it inside and closes on Escape.

/** A file name or path as people can read it: escapes marked (`.name-escape`), the whole text in the title. */
export function Name(props: { name: string; b64?: string | null; className?: string }) {
  const pieces = namePieces(props.name, props.b64);
  const whole = pieces.map((piece) => piece.text).join("");
  return (
    <span className={props.className ? `name ${props.className}` : "name"} title={whole} data-readable={whole}>
      {pieces.map((piece, index) =>
        piece.escape ? (
          <span key={index} className="name-escape">
            {piece.text}
          </span>
        ) : (
          piece.text
        ),
      )}
    </span>
  );
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain HTTP from another host): the older way, through a selected text area.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

/** Copies the API's form of a name (its text, or its base64 bytes when it is not UTF-8) and says so. */
export function CopyName(props: { name: string; b64?: string | null; label?: string; compact?: boolean }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const readable = namePieces(props.name, props.b64)
    .map((piece) => piece.text)
    .join("");
  const copy = async () => setState((await copyText(apiName(props.name, props.b64))) ? "copied" : "failed");
  const label = props.label ?? t("a11y.name.copy");
  return (
    <span className="copy-name">
      <button
        type="button"
        className={props.compact ? "ghost icon" : undefined}
        aria-label={props.compact ? t("a11y.name.copyOf", { name: readable }) : undefined}
        title={props.compact ? label : undefined}
        data-copy={apiName(props.name, props.b64)}
        onClick={(event) => {
          event.stopPropagation();
          void copy();
        }}
      >
        {props.compact ? <CopyIcon /> : label}
      </button>
      <span role="status" className="copy-state muted">
        {state === "copied" ? t("a11y.name.copied") : state === "failed" ? t("a11y.name.copyFailed") : ""}
      </span>
    </span>
  );
}

function CopyIcon() {
  return (
    <svg className="copy-icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <path d="M5.5 5.5h8v9h-8zM2.5 11.5v-10h8" fill="none" stroke="currentColor" />
    </svg>
  );
}

const focusable = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A modal dialog: focus moves into it when it opens, Tab and Shift+Tab cycle inside it, Escape and the close button
 * close it, and focus returns to what had it before. Labelled by its title.
 */
export function Dialog(props: { title: ReactNode; onClose: () => void; children: ReactNode; className?: string; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  const titleId = useId();
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const first = box.current?.querySelector<HTMLElement>(focusable);
    (first ?? box.current)?.focus();
    return () => opener?.focus?.();
  }, []);
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      onClose.current();
      return;
    }
    if (event.key !== "Tab" || !box.current) return;
    const items = [...box.current.querySelectorAll<HTMLElement>(focusable)].filter((item) => item.offsetParent !== null);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };
  return (
    <div className="dialog-backdrop" onMouseDown={(event) => event.target === event.currentTarget && props.onClose()}>
      <div
        ref={box}
        className={props.className ? `card dialog ${props.className}` : "card dialog"}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
        data-testid={props.testId}
      >
        <header className="page-header">
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" onClick={props.onClose}>
            {t("a11y.dialog.close")}
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}
