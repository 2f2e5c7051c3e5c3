import { ErrorBox, Link } from "../components";
import { t, tOr, type MessageKey } from "../i18n";
import type { BulkAnswer } from "../lib/jobsList";

// What a bulk action on the jobs list did (docs/ui.md, "Jobs at scale"): how many were done, how many were already so,
// and each job that failed with its reason, by name. It stays until dismissed (an action on 500 jobs deserves a read).

const doneKeys: Record<BulkAnswer["action"], [MessageKey, MessageKey]> = {
  run: ["pages.jobs.bulk.done.run.one", "pages.jobs.bulk.done.run.other"],
  archive: ["pages.jobs.bulk.done.archive.one", "pages.jobs.bulk.done.archive.other"],
  unarchive: ["pages.jobs.bulk.done.unarchive.one", "pages.jobs.bulk.done.unarchive.other"],
};

/** Rows listed by name; the rest are counted (a failed Run now of 500 archived jobs is one sentence and a few names). */
const listedFailures = 20;

export function BulkOutcome(props: { answer: BulkAnswer; names: Map<string, string>; stopped?: unknown; onDismiss: () => void }) {
  const { answer } = props;
  const failures = answer.results.filter((row) => !row.ok);
  const tone = failures.length > 0 || props.stopped ? "danger" : "ok";
  const plural = (count: number, [one, other]: [MessageKey, MessageKey]) => t(count === 1 ? one : other, { count });
  return (
    <div className={`banner-card ${tone} bulk-outcome`} role="status" data-testid="bulk-outcome">
      <p>
        {(answer.done > 0 || answer.results.length === 0) && <>{plural(answer.done, doneKeys[answer.action])} </>}
        {answer.unchanged > 0 && <>{plural(answer.unchanged, ["pages.jobs.bulk.unchanged.one", "pages.jobs.bulk.unchanged.other"])} </>}
        {failures.length > 0 && plural(failures.length, ["pages.jobs.bulk.failed.one", "pages.jobs.bulk.failed.other"])}
      </p>
      {failures.length > 0 && (
        <ul>
          {failures.slice(0, listedFailures).map((row) => (
            <li key={row.id}>
              <Link to={`/jobs/${encodeURIComponent(row.id)}`}>{props.names.get(row.id) ?? row.id}</Link>
              {": "}
              {tOr(`pages.jobs.bulk.reason.${row.result}`, row.message ?? row.result)}
              {row.run_id && (
                <>
                  {" · "}
                  <Link to={`/runs/${row.run_id}`}>{t("common.runStarted.open")}</Link>
                </>
              )}
            </li>
          ))}
          {failures.length > listedFailures && <li>{t("pages.jobs.bulk.more", { count: failures.length - listedFailures })}</li>}
        </ul>
      )}
      {props.stopped !== undefined && (
        <>
          <p>{t("pages.jobs.bulk.stopped")}</p>
          <ErrorBox error={props.stopped} />
        </>
      )}
      <button type="button" onClick={props.onDismiss}>
        {t("pages.jobs.bulk.dismiss")}
      </button>
    </div>
  );
}
