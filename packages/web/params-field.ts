import { InvalidParamError, MAX_PARAMS, parseParamLines, type RunParams } from "../client/index.ts";

/** What the Parameters field holds when the form is sent. */
export type ParamsReading = { ok: true; params?: RunParams } | { ok: false };

/** The page's Parameters field (see {@link addParamsField}). */
export interface ParamsField {
  /**
   * The parameters typed, parsed as the CLI's `--param` is (packages/client params.ts):
   * `{ ok: true, params }`, without `params` when the field is empty. A wrong line is shown
   * under the field (and the field marked invalid and focused): `{ ok: false }`, and no run
   * may start.
   */
  read(): ParamsReading;
}

/** `tag` with `props` set (`id`, `className`, `textContent`, …): the DOM is built without markup strings. */
function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
): HTMLElementTagNameMap[K] {
  return Object.assign(document.createElement(tag), props);
}

/**
 * Add the generic Parameters field (`#params`, a textarea: one `key=value` per line) to the
 * form, before `before`: any agent's `params` can be sent from the page, with no code for a
 * particular agent. Its hint says the syntax; a mistake (a line without `=`, a bad key, a key
 * twice, more than 20) shows inline in `#params-error` (a live region) until the field changes.
 */
export function addParamsField(form: HTMLFormElement, before: Element | null): ParamsField {
  const label = make("label", { htmlFor: "params", textContent: "Parameters (optional)" });
  const field = make("textarea", {
    id: "params",
    name: "params",
    rows: 2,
    spellcheck: false,
    autocomplete: "off",
    placeholder: "filter=Pod",
  });
  field.setAttribute("aria-describedby", "params-hint params-error");
  const hint = make("div", {
    id: "params-hint",
    className: "hint",
    textContent:
      `One key=value per line, e.g. filter=Pod (at most ${MAX_PARAMS}), for the agent's params. ` +
      'true, false and numbers are sent as such; put a value in double quotes ("42") to send it as text.',
  });
  const error = make("div", { id: "params-error" });
  error.setAttribute("role", "alert");
  form.insertBefore(label, before);
  form.insertBefore(field, before);
  form.insertBefore(hint, before);
  form.insertBefore(error, before);

  const setError = (message: string) => {
    error.textContent = message;
    if (message) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  };
  field.addEventListener("input", () => {
    if (error.textContent) setError("");
  });
  return {
    read() {
      try {
        const params = parseParamLines(field.value);
        setError("");
        return params ? { ok: true, params } : { ok: true };
      } catch (err) {
        if (!(err instanceof InvalidParamError)) throw err;
        setError(`Parameters, line ${err.line}: ${err.reason}. No run was started.`);
        field.focus();
        return { ok: false };
      }
    },
  };
}
