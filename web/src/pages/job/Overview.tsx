import { type Job, type RunListItem, type Snapshot } from "../../api";
import { Link } from "../../components";
import { t } from "../../i18n";
import { formatBytes, formatRelative, formatTime } from "../../lib/format";
import { describeBandwidth, describeHooks, describeRetention, describeSource, describeTarget } from "../../lib/jobForm";
import { describeCron } from "../../lib/schedule";

// The job page's Overview tab: what the job does, in words, and how it is doing (the charts under it are Charts.tsx).

function describeSpec(job: Job): [string, string][] {
  const spec = (job.spec ?? {}) as Record<string, any>;
  const source = spec.source ?? {};
  const target = spec.target ?? {};
  const encryption = spec.pipeline?.encryption;
  const retention = spec.retention ?? {};
  const rows: [string, string][] = [];
  rows.push([t("job.page.fact.what"), describeSource(job.type ?? spec.type ?? null, spec)]);
  if (spec.type === "filesystem" && (source.exclude ?? []).length > 0) rows.push([t("job.page.fact.exclude"), source.exclude.join(", ")]);
  if (spec.type === "filesystem" && source.snapshot_mode && source.snapshot_mode !== "off")
    rows.push([t("job.page.fact.fsSnapshot"), source.snapshot_mode === "auto" ? t("job.page.fact.btrfsAuto") : t("job.page.fact.btrfsRequired")]);
  if ((spec.type === "filesystem" || spec.type === "vaultwarden") && source.consistency_policy && source.consistency_policy !== "warn")
    rows.push([
      t("job.page.fact.changedWhileRead"),
      source.consistency_policy === "fail" ? t("job.page.fact.failAbove", { count: source.consistency_fail_threshold ?? 0 }) : t("job.page.fact.ignored"),
    ]);
  const hooks = describeHooks(spec);
  if (hooks) rows.push([t("job.page.fact.hooks"), hooks]);
  rows.push([t("job.page.fact.whereTo"), t("job.page.fact.targetParts", { target: describeTarget(target), size: formatBytes(target.part_size_bytes ?? 256 * 1048576) })]);
  const bandwidth = describeBandwidth(target.bandwidth);
  if (bandwidth) rows.push([t("job.page.fact.bandwidth"), bandwidth]);
  for (const [index, copy] of ((spec.copies ?? []) as { target?: Record<string, any> }[]).entries()) {
    const copyBandwidth = describeBandwidth(copy.target?.bandwidth);
    rows.push([t("job.page.fact.copy", { number: index + 1 }), `${describeTarget(copy.target ?? {})}${copyBandwidth ? t("job.page.fact.atMost", { rate: copyBandwidth }) : ""}`]);
  }
  rows.push([t("job.page.fact.encryption"), encryption?.type === "age_x25519" ? t("job.page.fact.ageKey", { key: encryption.key_name }) : t("common.a.none")]);
  const incremental = spec.pipeline?.incremental;
  if (spec.type === "filesystem") {
    rows.push([t("job.page.fact.snapshots"), incremental?.full_every ? t("job.page.fact.incremental", { count: incremental.full_every }) : t("job.page.fact.fullEveryTime")]);
  }
  rows.push([
    t("job.page.fact.when"),
    job.schedule
      ? t("job.page.fact.cronZone", { words: describeCron(job.schedule) ?? job.schedule, cron: job.schedule, zone: job.schedule_timezone })
      : t("job.page.fact.manualOnly"),
  ]);
  rows.push([t("job.page.fact.overlap"), job.overlap_policy === "queue" ? t("job.page.fact.overlapQueue") : t("job.page.fact.overlapReject")]);
  rows.push([t("job.page.fact.keeps"), describeRetention(retention)]);
  const pings = (spec.pings ?? []) as Record<string, string>[];
  if (pings.length > 0) rows.push([t("job.page.fact.pings"), pings.map((ping) => ping.url ?? [ping.start_url, ping.success_url, ping.failure_url].filter(Boolean).join(", ")).join("; ")]);
  const drills = spec.drills;
  if (drills?.enabled)
    rows.push([
      t("job.page.fact.drills"),
      t(drills.pick === "random" ? "job.page.fact.drillRandom" : "job.page.fact.drillNewest", { when: describeCron(drills.schedule) ?? drills.schedule }) +
        (drills.test_restore ? t("job.page.fact.drillTestRestore") : ""),
    ]);
  return rows;
}

export function JobOverview(props: { job: Job; runs: RunListItem[]; snapshots: Snapshot[] }) {
  const backups = props.runs.filter((run) => run.kind === "backup");
  const lastSuccess = backups.find((run) => run.status === "success");
  const lastFailure = backups.find((run) => run.status === "failed");
  const present = props.snapshots.filter((snapshot) => snapshot.status === "present");
  const stored = present.reduce((sum, snapshot) => sum + (snapshot.transfer_bytes ?? 0), 0);
  return (
    <div className="editor-grid">
      <div className="card">
        <h2>{t("job.page.whatItDoes")}</h2>
        <dl className="facts">
          {describeSpec(props.job).map(([term, value]) => (
            <div key={term} className="fact">
              <dt>{term}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      </div>
      <div className="card">
        <h2>{t("job.page.health")}</h2>
        <dl className="facts">
          <div className="fact">
            <dt>{t("job.page.lastSuccess")}</dt>
            <dd>{lastSuccess ? <Link to={`/runs/${lastSuccess.id}`}>{formatTime(lastSuccess.ended_at ?? lastSuccess.started_at)}</Link> : t("common.a.never")}</dd>
          </div>
          <div className="fact">
            <dt>{t("job.page.lastFailure")}</dt>
            <dd>
              {lastFailure ? (
                <>
                  <Link to={`/runs/${lastFailure.id}`}>{formatTime(lastFailure.started_at)}</Link> <span className="error-text">{lastFailure.error}</span>
                </>
              ) : (
                t("common.a.none")
              )}
            </dd>
          </div>
          <div className="fact">
            <dt>{t("job.page.tab.snapshots")}</dt>
            <dd>
              {t("job.page.snapshotsStored", { count: present.length, size: formatBytes(stored) })}
            </dd>
          </div>
          <div className="fact">
            <dt>{t("job.page.nextRuns")}</dt>
            <dd>
              {(props.job.next_run_at ?? []).length === 0 ? (
                <span className="muted">{props.job.schedule ? t("common.a.none") : t("job.page.manual")}</span>
              ) : (
                <ol className="next-runs">
                  {(props.job.next_run_at ?? []).map((at) => (
                    <li key={at}>
                      {formatTime(at, props.job.schedule_timezone)} <span className="muted">({formatRelative(at)})</span>
                    </li>
                  ))}
                </ol>
              )}
            </dd>
          </div>
        </dl>
      </div>
    </div>
  );
}
