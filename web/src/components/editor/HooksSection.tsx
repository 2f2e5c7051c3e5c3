import { t } from "../../i18n";
import { emptyHook, parseEnv, type HookForm, type JobForm } from "../../lib/jobForm";
import { Field, SectionError, type Update } from "./fields";

/** Commands run before and after each backup: argv lists, never a shell line. */
export function HooksSection(props: { form: JobForm; update: Update; error?: string }) {
  const { form, update } = props;
  const list = (which: "hooksBefore" | "hooksAfter") => (
    <HookList
      which={which}
      hooks={form[which]}
      onChange={(hooks) => update({ [which]: hooks } as Partial<JobForm>)}
    />
  );
  return (
    <fieldset className="card hooks" aria-label={t("job.page.fact.hooks")}>
      <legend>{t("job.editor.hooks.legend")}</legend>
      <p className="warning hooks-note" role="note">
        {t("job.editor.hooks.warning")}
      </p>
      <h3>{t("job.editor.hooks.before")}</h3>
      {list("hooksBefore")}
      {form.hooksBefore.length > 0 && (
        <label className="inline">
          <input
            type="checkbox"
            name="continueOnBeforeFailure"
            checked={form.continueOnBeforeFailure}
            onChange={(event) => update({ continueOnBeforeFailure: event.target.checked })}
          />{" "}
          {t("job.editor.hooks.continue")}
        </label>
      )}
      <h3>{t("job.editor.hooks.after")}</h3>
      <p className="hint muted">{t("job.editor.hooks.afterHint")}</p>
      {list("hooksAfter")}
      <SectionError error={props.error} />
    </fieldset>
  );
}

function HookList(props: { which: "hooksBefore" | "hooksAfter"; hooks: HookForm[]; onChange: (hooks: HookForm[]) => void }) {
  const when = props.which === "hooksBefore" ? "before" : "after";
  const change = (index: number, patch: Partial<HookForm>) => props.onChange(props.hooks.map((hook, at) => (at === index ? { ...hook, ...patch } : hook)));
  const move = (index: number, by: number) => {
    const hooks = [...props.hooks];
    [hooks[index], hooks[index + by]] = [hooks[index + by], hooks[index]];
    props.onChange(hooks);
  };
  return (
    <div className="hook-list" data-testid={`hooks-${when}`}>
      {props.hooks.length === 0 && <p className="muted">{t("job.editor.hooks.none")}</p>}
      {props.hooks.map((hook, index) => {
        const envProblems = parseEnv(hook.env).problems;
        return (
          <div className="subcard hook" key={index} role="group" aria-label={t(when === "before" ? "job.editor.hooks.beforeCommand" : "job.editor.hooks.afterCommand", { number: index + 1 })}>
            <div className="hook-header">
              <strong>
                {t(when === "before" ? "job.editor.hooks.beforeNumber" : "job.editor.hooks.afterNumber", { number: index + 1 })}
              </strong>
              <span className="hook-buttons">
                <button type="button" className="ghost" aria-label={t("job.editor.moveUp")} disabled={index === 0} onClick={() => move(index, -1)}>
                  ↑
                </button>
                <button type="button" className="ghost" aria-label={t("job.editor.moveDown")} disabled={index === props.hooks.length - 1} onClick={() => move(index, 1)}>
                  ↓
                </button>
                <button type="button" className="ghost danger" onClick={() => props.onChange(props.hooks.filter((_, at) => at !== index))}>
                  {t("common.a.remove")}
                </button>
              </span>
            </div>
            <Field label={t("job.editor.hooks.argv")} hint={t("job.editor.hooks.argvHint")}>
              <textarea
                name={`${when}Argv`}
                rows={Math.max(3, hook.argv.split("\n").length + 1)}
                wrap="off"
                className="mono"
                placeholder={when === "before" ? t("job.editor.example.hookBefore") : t("job.editor.example.hookAfter")}
                value={hook.argv}
                onChange={(event) => change(index, { argv: event.target.value })}
              />
            </Field>
            <div className="row">
              <Field label={t("job.editor.hooks.cwd")}>
                <input name={`${when}Cwd`} placeholder="/" value={hook.cwd} onChange={(event) => change(index, { cwd: event.target.value })} />
              </Field>
              <Field label={t("job.editor.hooks.timeout")}>
                <input name={`${when}Timeout`} className="num-wide" type="number" min={1} max={86400} placeholder="300" value={hook.timeout} onChange={(event) => change(index, { timeout: event.target.value })} />
              </Field>
            </div>
            <Field
              label={t("job.editor.hooks.env")}
              error={envProblems.length ? t("job.editor.hooks.envProblem", { lines: envProblems.join(t("job.list.separator")) }) : undefined}
              hint={t("job.editor.hooks.envHint")}
            >
              <textarea name={`${when}Env`} rows={Math.max(2, hook.env.split("\n").length)} wrap="off" className="mono" value={hook.env} onChange={(event) => change(index, { env: event.target.value })} />
            </Field>
          </div>
        );
      })}
      <button type="button" onClick={() => props.onChange([...props.hooks, emptyHook()])}>
        {t(when === "before" ? "job.editor.hooks.addBefore" : "job.editor.hooks.addAfter")}
      </button>
    </div>
  );
}
