import { useEffect, useMemo, useState, type ReactNode } from "react";
import { api, type Job, type RunListItem, type Snapshot } from "../../api";
import { formatNumber, language, t } from "../../i18n";
import { formatBytes, formatDuration, formatTime } from "../../lib/format";
import { bars, changePairs, changeSeries, durationSeries, linePath, niceMax, sizeSeries, ticks, xAt, yAt, type Frame } from "../../lib/jobCharts";
import { Link } from "../../components";

// The job page's charts (docs/ui.md, "Charts"): snapshot size (stored and source) and backup duration over time, and
// files changed per run, as inline SVG; each chart's values are in a table under it (a <details>, read by screen
// readers and openable by anyone).

const frame: Frame = { width: 480, height: 200, left: 64, right: 12, top: 12, bottom: 28 };

type Totals = { added: number; removed: number; changed: number } | null;

export function JobCharts(props: { job: Job; runs: RunListItem[]; snapshots: Snapshot[] }) {
  const sizes = useMemo(() => sizeSeries(props.snapshots), [props.snapshots]);
  const durations = useMemo(() => durationSeries(props.runs), [props.runs]);
  const pairs = useMemo(() => changePairs(props.snapshots), [props.snapshots]);
  const [totals, setTotals] = useState<Map<string, Totals>>(new Map());

  // Files changed: the diff's totals between each snapshot and the one before it, counted four at a time.
  useEffect(() => {
    let alive = true;
    const todo = pairs.filter((pair) => pair.previous !== null);
    let next = 0;
    const work = async () => {
      while (alive && next < todo.length) {
        const pair = todo[next++];
        let counted: Totals = null;
        try {
          const query = new URLSearchParams({ from: pair.previous as string, to: pair.runId, limit: "1" });
          counted = (await api.diff(props.job.id, query.toString())).totals;
        } catch {
          counted = null;
        }
        if (alive) setTotals((current) => new Map(current).set(pair.runId, counted));
      }
    };
    void Promise.all([work(), work(), work(), work()]);
    return () => {
      alive = false;
    };
  }, [pairs, props.job.id]);

  const changes = useMemo(() => changeSeries(pairs, totals), [pairs, totals]);
  if (sizes.length === 0 && durations.length === 0) {
    return (
      <section className="card job-charts" aria-labelledby="charts-title">
        <h2 id="charts-title">{t("charts.title")}</h2>
        <p className="muted">{t("charts.empty")}</p>
      </section>
    );
  }
  const day = (at: number) => new Date(at * 1000).toLocaleDateString(language(), { month: "short", day: "numeric" });
  const runLink = (runId: string, at: number) => <Link to={`/runs/${encodeURIComponent(runId)}`}>{formatTime(at)}</Link>;
  const sizeMax = niceMax(Math.max(0, ...sizes.flatMap((point) => [point.stored ?? 0, point.source ?? 0])), true);
  const durationMax = niceMax(Math.max(0, ...durations.map((point) => point.seconds)));
  const changeMax = niceMax(Math.max(0, ...changes.map((point) => point.files ?? 0)));
  const counting = changes.some((point) => point.files === null && !totals.has(point.runId));
  return (
    <section className="card job-charts" aria-labelledby="charts-title" data-testid="job-charts">
      <h2 id="charts-title">{t("charts.title")}</h2>
      <div className="charts">
        <Chart
          id="size"
          title={t("charts.size.title")}
          label={t("charts.size.label", { count: sizes.length })}
          max={sizeMax}
          axis={(value) => formatBytes(value)}
          first={sizes[0]?.at}
          last={sizes[sizes.length - 1]?.at}
          day={day}
          legend={[
            { key: "stored", text: t("charts.size.stored") },
            { key: "source", text: t("charts.size.source") },
          ]}
          marks={
            <>
              <path className="series-source" d={linePath(frame, sizes.map((point) => point.source), sizeMax)} />
              <path className="series-stored" d={linePath(frame, sizes.map((point) => point.stored), sizeMax)} />
              {sizes.map((point, index) =>
                point.stored === null ? null : (
                  <circle key={point.runId} className="series-stored" cx={xAt(frame, index, sizes.length)} cy={yAt(frame, point.stored, sizeMax)} r={2.5} />
                ),
              )}
            </>
          }
          columns={[t("charts.column.snapshot"), t("charts.size.stored"), t("charts.size.source")]}
          rows={sizes.map((point) => ({ key: point.runId, cells: [runLink(point.runId, point.at), formatBytes(point.stored), formatBytes(point.source)] }))}
        />
        <Chart
          id="duration"
          title={t("charts.duration.title")}
          label={t("charts.duration.label", { count: durations.length })}
          max={durationMax}
          axis={(value) => formatDuration(value)}
          first={durations[0]?.at}
          last={durations[durations.length - 1]?.at}
          day={day}
          marks={bars(frame, durations.map((point) => point.seconds), durationMax).map((bar) => (
            <rect key={bar.index} className="series-duration" x={bar.x} y={bar.y} width={bar.width} height={bar.height} />
          ))}
          columns={[t("charts.column.run"), t("charts.column.duration")]}
          rows={durations.map((point) => ({ key: point.runId, cells: [runLink(point.runId, point.at), formatDuration(point.seconds)] }))}
        />
        <Chart
          id="changes"
          title={t("charts.changes.title")}
          label={t("charts.changes.label", { count: changes.length })}
          note={counting ? t("charts.changes.counting") : t("charts.changes.note")}
          max={changeMax}
          axis={(value) => formatNumber(value)}
          first={changes[0]?.at}
          last={changes[changes.length - 1]?.at}
          day={day}
          marks={bars(frame, changes.map((point) => point.files), changeMax).map((bar) => (
            <rect key={bar.index} className={changes[bar.index].first ? "series-first" : "series-changes"} x={bar.x} y={bar.y} width={bar.width} height={bar.height} />
          ))}
          columns={[t("charts.column.snapshot"), t("charts.column.files")]}
          rows={changes.map((point) => ({
            key: point.runId,
            cells: [
              runLink(point.runId, point.at),
              point.files === null
                ? totals.has(point.runId)
                  ? t("charts.changes.unknown")
                  : t("charts.changes.pending")
                : point.first
                  ? t("charts.changes.first", { count: formatNumber(point.files) })
                  : formatNumber(point.files),
            ],
          }))}
        />
      </div>
    </section>
  );
}

function Chart(props: {
  id: string;
  title: string;
  label: string;
  note?: string;
  max: number;
  axis: (value: number) => string;
  first?: number;
  last?: number;
  day: (at: number) => string;
  legend?: { key: string; text: string }[];
  marks: ReactNode;
  columns: string[];
  rows: { key: string; cells: ReactNode[] }[];
}) {
  const titleId = `chart-${props.id}-title`;
  return (
    <figure className="chart" data-chart={props.id}>
      <figcaption id={titleId}>
        <strong>{props.title}</strong>
        {props.legend && (
          <span className="legend">
            {props.legend.map((item) => (
              <span key={item.key} className={`legend-${item.key}`}>
                <svg width="18" height="8" aria-hidden="true">
                  <line x1="0" y1="4" x2="18" y2="4" className={`series-${item.key}`} />
                </svg>
                {item.text}
              </span>
            ))}
          </span>
        )}
      </figcaption>
      {props.rows.length === 0 ? (
        <p className="muted">{t("charts.none")}</p>
      ) : (
        <svg viewBox={`0 0 ${frame.width} ${frame.height}`} role="img" aria-label={`${props.title}: ${props.label}`}>
          {ticks(props.max).map((value) => (
            <g key={value} className="grid">
              <line x1={frame.left} x2={frame.width - frame.right} y1={yAt(frame, value, props.max)} y2={yAt(frame, value, props.max)} />
              <text x={frame.left - 6} y={yAt(frame, value, props.max) + 4} textAnchor="end">
                {props.axis(value)}
              </text>
            </g>
          ))}
          {props.first !== undefined && (
            <text className="axis-x" x={frame.left} y={frame.height - 8} textAnchor="start">
              {props.day(props.first)}
            </text>
          )}
          {props.last !== undefined && props.rows.length > 1 && (
            <text className="axis-x" x={frame.width - frame.right} y={frame.height - 8} textAnchor="end">
              {props.day(props.last)}
            </text>
          )}
          {props.marks}
        </svg>
      )}
      {props.note && <p className="muted chart-note">{props.note}</p>}
      {props.rows.length > 0 && (
        <details className="chart-values">
          <summary>{t("charts.values")}</summary>
          <table>
            <caption className="visually-hidden">{props.title}</caption>
            <thead>
              <tr>
                {props.columns.map((column) => (
                  <th key={column} scope="col">
                    {column}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.rows.map((row) => (
                <tr key={row.key}>
                  {row.cells.map((cell, index) => (
                    <td key={index}>{cell}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}
