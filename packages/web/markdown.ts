import { micromark } from "micromark";

/**
 * Model text as HTML that is safe to insert: micromark (CommonMark) is safe by default — raw
 * HTML in the input is escaped, and `javascript:` / `data:` link targets are dropped (only
 * http, https, mailto and relative URLs survive, micromark "Security"). Never pass
 * `allowDangerousHtml` here: the answer is model output, i.e. untrusted.
 */
export function renderMarkdown(text: string): string {
  return micromark(text);
}
