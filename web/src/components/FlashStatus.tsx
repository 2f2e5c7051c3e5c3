import { t } from "../i18n";
import { clearFlash, useFlash } from "../lib/flash";

/**
 * The shell's live region: always in the page (so a screen reader hears what lands in it), empty without a note; the
 * note itself is the `role="status"` (an empty status on every page would be one more for tests and tools to skip).
 */
export function FlashStatus() {
  const note = useFlash();
  return (
    <div className="flash" aria-live="polite" data-testid="flash">
      {note && (
        <p className="card flash-note" role="status">
          <span>{note.text}</span>
          <button type="button" className="ghost" aria-label={t("editor.flash.dismiss")} onClick={clearFlash}>
            ×
          </button>
        </p>
      )}
    </div>
  );
}
