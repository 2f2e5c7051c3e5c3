import { useState } from "react";
import { api, type Job } from "../../api";
import { ErrorBox, Link } from "../../components";
import { useConfirm } from "../../dialogs";
import { t } from "../../i18n";
import { formatBytes, formatTime } from "../../lib/format";
import { describeReason, describeRetention } from "../../lib/jobForm";
import { useLoad } from "../../lib/useLoad";

// The job page's Retention tab: what the job's retention would delete and why each kept snapshot is kept (the server's
// preview), and Apply, asked first in the UI's own dialog.

export function Retention(props: { job: Job; onApplied: () => Promise<void>; onError: (error: unknown) => void }) {
  const { data: preview, error, reload } = useLoad(() => api.retentionPreview(props.job.id), [props.job.id]);
  const [applied, setApplied] = useState<string[] | null>(null);
  const [confirm, confirmDialog] = useConfirm();
  const retention = ((props.job.spec ?? {}) as Record<string, any>).retention ?? {};
  const apply = async () => {
    if (!preview) return;
    const question = t("job.retention.applyConfirm", { count: preview.delete.length });
    if (!(await confirm({ title: question, confirm: t("job.retention.apply"), danger: true }))) return;
    try {
      setApplied((await api.retentionApply(props.job.id)).queued);
      await props.onApplied();
      await reload();
    } catch (caught) {
      props.onError(caught);
    }
  };
  return (
    <div className="card">
      {confirmDialog}
      <ErrorBox error={error} />
      <p>
        {retention.enabled ? (
          <>
            {t("job.retention.on", { keeps: describeRetention(retention) })}
          </>
        ) : (
          <>
            {t("job.retention.off")} <Link to={`/jobs/${encodeURIComponent(props.job.id)}/edit`}>{t("job.retention.turnOn")}</Link>
          </>
        )}
      </p>
      {preview && (
        <>
          <h3>{t("job.retention.wouldDelete", { count: preview.delete.length })}</h3>
          {preview.delete.length === 0 ? (
            <p className="muted">{t("job.retention.nothing")}</p>
          ) : (
            <ul className="retention-delete">
              {preview.delete.map((snapshot) => (
                <li key={snapshot.run_id}>
                  {formatTime(snapshot.ended_at)} <span className="muted">{formatBytes(snapshot.transfer_bytes)}</span>
                </li>
              ))}
            </ul>
          )}
          <h3>{t("job.retention.keeps", { count: preview.keep.length })}</h3>
          <ul className="retention-keep">
            {preview.keep.map((snapshot) => (
              <li key={snapshot.run_id}>
                {formatTime(snapshot.ended_at)}{" "}
                <span className="muted reasons" data-reasons={(snapshot.reasons ?? []).join(" ")}>
                  {t("job.retention.keptBy", { reasons: (snapshot.reasons ?? []).map((reason) => describeReason(reason, snapshot.buckets?.[reason], retention)).join(t("job.list.separator")) })}
                </span>
              </li>
            ))}
          </ul>
          {retention.enabled && (
            <button className="danger" disabled={preview.delete.length === 0} onClick={() => void apply()}>
              {t("job.retention.apply")}
            </button>
          )}
          {applied && <p role="status">{t("job.retention.queued", { count: applied.length })}</p>}
        </>
      )}
    </div>
  );
}
