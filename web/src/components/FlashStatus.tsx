import { t } from "../i18n";
import { clearFlash, useFlash } from "../lib/flash";

/** The shell's status region: always in the page (so a screen reader hears what lands in it), empty without a note. */
export function FlashStatus() {
  const note = useFlash();
  return (
    <div className="flash" role="status" data-testid="flash">
      {note && (
        <p className="card flash-note">
          <span>{note.text}</span>
          <button type="button" className="ghost" aria-label={t("editor.flash.dismiss")} onClick={clearFlash}>
            ×
          </button>
        </p>
      )}
    </div>
  );
}
