import { type ReactNode, useCallback, useEffect, useRef, useState } from "react";

import { t } from "./i18n";

// The UI's own confirmations (docs/ui.md, "Dialogs"): a modal <dialog> (focus trapped by the browser, Escape
// cancels, focus returns to the opener), never the browser's window.confirm.

export function ConfirmDialog(props: {
  title: string;
  confirm: string;
  /** The dismissing button's text; "Cancel" unless that reads like the action (cancelling a run). */
  cancel?: string;
  danger?: boolean;
  children?: ReactNode;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement as HTMLElement | null;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      dialog?.close();
      opener?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className="confirm-dialog"
      aria-labelledby="confirm-dialog-title"
      onCancel={(event) => {
        event.preventDefault();
        props.onCancel();
      }}
      onKeyDown={(event) => {
        // Tab and Shift+Tab go round inside (a modal <dialog> alone lets focus leave to the browser's own controls).
        if (event.key !== "Tab" || !ref.current) return;
        const items = Array.from(ref.current.querySelectorAll<HTMLElement>("button:not(:disabled), a[href], input:not(:disabled), select, textarea"));
        const [first, last] = [items[0], items[items.length - 1]];
        if (!first) return;
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }}
    >
      <h2 id="confirm-dialog-title">{props.title}</h2>
      {props.children}
      <div className="row dialog-buttons">
        <button type="button" className="ghost" onClick={props.onCancel} autoFocus>
          {props.cancel ?? t("common.a.cancel")}
        </button>
        <button type="button" className={props.danger ? "danger" : undefined} onClick={props.onConfirm}>
          {props.confirm}
        </button>
      </div>
    </dialog>
  );
}

export interface ConfirmOptions {
  title: string;
  /** The confirm button's text (say what it does: "Delete", "Overwrite"), never a bare "OK". */
  confirm: string;
  /** The dismissing button's text (default "Cancel"). */
  cancel?: string;
  body?: ReactNode;
  danger?: boolean;
}

/**
 * `const [confirm, confirmDialog] = useConfirm();` then `if (!(await confirm({...}))) return;` and render
 * `{confirmDialog}` once in the page: the promise resolves true on confirm, false on cancel or Escape.
 */
export function useConfirm(): [(options: ConfirmOptions) => Promise<boolean>, ReactNode] {
  const [open, setOpen] = useState<{ options: ConfirmOptions; resolve: (answer: boolean) => void } | null>(null);
  const confirm = useCallback(
    (options: ConfirmOptions) =>
      new Promise<boolean>((resolve) => {
        setOpen({ options, resolve });
      }),
    [],
  );
  const answer = (value: boolean) => {
    open?.resolve(value);
    setOpen(null);
  };
  const element = open ? (
    <ConfirmDialog title={open.options.title} confirm={open.options.confirm} cancel={open.options.cancel} danger={open.options.danger} onConfirm={() => answer(true)} onCancel={() => answer(false)}>
      {typeof open.options.body === "string"
        ? // A catalogue text's blank lines are its paragraphs.
          open.options.body.split(/\n\s*\n/).map((paragraph, index) => <p key={index}>{paragraph}</p>)
        : open.options.body}
    </ConfirmDialog>
  ) : null;
  return [confirm, element];
}
