import { useEffect, useMemo, useState } from "react";
import { api, ApiError, type Job } from "../api";
import { ErrorBox, Link } from "../components";
import { BasicsSection } from "../components/editor/BasicsSection";
import { CopiesSection } from "../components/editor/CopiesSection";
import { readDraft, removeDraft, writeDraft, type Draft } from "../components/editor/draft";
import { DrillsSection } from "../components/editor/DrillsSection";
import { type Secrets, useZones } from "../components/editor/fields";
import { HooksSection } from "../components/editor/HooksSection";
import { NotifyRetentionSection } from "../components/editor/NotifyRetentionSection";
import { PingsSection } from "../components/editor/PingsSection";
import { ScheduleSection } from "../components/editor/ScheduleSection";
import { SourceSection } from "../components/editor/SourceSection";
import { TargetSection } from "../components/editor/TargetSection";
import { t } from "../i18n";
import { flash } from "../lib/flash";
import { completeDraft, emptyForm, fieldOf, formProblems, formToRequest, jobToForm, type JobForm } from "../lib/jobForm";
import { navigate } from "../lib/router";
import { useLoad } from "../lib/useLoad";

// The job editor (docs/ui.md, "The job editor"): this page holds the form, its draft and the save; each section of
// the spec is a component of components/editor/, and lib/jobForm.ts alone maps the form to the API's body.

const secretKinds = ["webdav", "rclone", "postgres", "mariadb"] as const;

/** Create or edit a job: every part of the spec, a live preview of the next runs, drafts that survive a reload. */
export function JobEditorPage(props: { jobId: string | null; hubTimezone: string }) {
  const loadedJob = useLoad<Job | null>(() => (props.jobId ? api.job(props.jobId) : Promise.resolve(null)), [props.jobId]);
  // Each kind on its own: a hub without one kind still lists the others.
  const secretLists = useLoad<Secrets>(async () => {
    const secrets: Secrets = {};
    await Promise.all(secretKinds.map((kind) => api.targetSecrets(kind).then((list) => void (secrets[kind] = list), () => undefined)));
    return secrets;
  }, []);
  const secrets = secretLists.data ?? {};
  const job = loadedJob.data;

  const [form, setForm] = useState<JobForm>(() => emptyForm(props.hubTimezone));
  // The form shows once it holds the job (a new job's form is ready at once).
  const [formFor, setFormFor] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft | null>(() => readDraft(props.jobId));
  const [saveError, setSaveError] = useState<unknown>(null);
  const [showJSON, setShowJSON] = useState(false);
  const [saving, setSaving] = useState(false);
  const zones = useZones();

  useEffect(() => {
    if (!job) return;
    setForm(jobToForm(job, props.hubTimezone));
    setFormFor(job.id);
  }, [job, props.hubTimezone]);

  // Every change is kept as a draft (once the page has its starting values).
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    if (touched) writeDraft(props.jobId, { form, updatedAt: job?.updated_at ?? null });
  }, [form, touched, job, props.jobId]);

  const update = (change: Partial<JobForm>) => {
    setTouched(true);
    setDraft(null);
    setForm((current) => ({ ...current, ...change }));
  };

  const body = useMemo(() => formToRequest(form), [form]);
  const problems = useMemo(() => formProblems(form), [form]);
  const fieldError = saveError instanceof ApiError ? fieldOf(saveError.details?.field as string | undefined) : "";
  const errorFor = (key: string) => (fieldError === key && saveError instanceof ApiError ? saveError.message : undefined);

  const save = async () => {
    setSaving(true);
    setSaveError(null);
    try {
      const saved = props.jobId ? await api.updateJob(props.jobId, body) : await api.createJob(body);
      removeDraft(props.jobId);
      // The list says it was saved (the shell's status region), so the move there is never a silent one.
      flash(t(props.jobId ? "editor.saved.updated" : "editor.saved.created", { name: saved.name }), "/jobs");
      navigate(`/jobs?saved=${encodeURIComponent(saved.id)}`);
    } catch (caught) {
      setSaveError(caught);
    } finally {
      setSaving(false);
    }
  };

  const ready = props.jobId === null || (job !== null && formFor === job.id);
  if (!ready) return loadedJob.error ? <ErrorBox error={loadedJob.error} /> : <p className="muted">{t("common.a.loading")}</p>;
  const stale = draft && job && draft.updatedAt !== null && draft.updatedAt !== job.updated_at;
  return (
    <section className="editor">
      <header className="page-header">
        <h1>{props.jobId ? t("job.editor.editTitle", { name: job?.name ?? t("job.editor.jobWord") }) : t("job.editor.newTitle")}</h1>
        <Link to="/jobs">{t("common.a.cancel")}</Link>
      </header>
      {draft && (
        <div className="card draft-note" role="status">
          {props.jobId ? t("job.editor.draftJob") : t("job.editor.draftNew")}
          {stale && <strong> {t("job.editor.draftStale")}</strong>}{" "}
          <button
            onClick={() => {
              setForm(completeDraft(draft.form, props.hubTimezone));
              setTouched(true);
              setDraft(null);
            }}
          >
            {t("job.editor.resumeDraft")}
          </button>{" "}
          <button
            onClick={() => {
              removeDraft(props.jobId);
              setDraft(null);
            }}
          >
            {t("job.editor.discard")}
          </button>
        </div>
      )}
      <div className="editor-grid">
        <BasicsSection form={form} update={update} errorFor={errorFor} />
        <ScheduleSection form={form} update={update} error={errorFor("schedule")} zones={zones} />
        <SourceSection form={form} update={update} secrets={secrets} errorFor={errorFor} />
        <TargetSection form={form} update={update} secrets={secrets} zones={zones} onSecretSaved={secretLists.reload} errorFor={errorFor} />
        <NotifyRetentionSection form={form} update={update} errorFor={errorFor} />
        <CopiesSection form={form} update={update} secrets={secrets} error={errorFor("copies")} zones={zones} onSecretSaved={secretLists.reload} />
        <PingsSection form={form} update={update} error={errorFor("pings")} />
        <DrillsSection form={form} update={update} error={errorFor("drills")} />
        <HooksSection form={form} update={update} error={errorFor("hooks")} />
      </div>
      <ErrorBox error={saveError} />
      <div className="editor-actions">
        <button className="primary" onClick={save} disabled={saving || problems.length > 0} title={problems.length ? problems.join(" ") : undefined}>
          {props.jobId ? t("common.a.save") : t("job.editor.create")}
        </button>
        <button onClick={() => setShowJSON(!showJSON)}>{showJSON ? t("job.editor.hideJson") : t("job.editor.showJson")}</button>
      </div>
      {showJSON && <pre className="json-view">{JSON.stringify(body, null, 2)}</pre>}
    </section>
  );
}
