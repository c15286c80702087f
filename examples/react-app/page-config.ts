/**
 * Where the example page finds its Stagecast stack: the server writes it into the page as JSON
 * (serve.ts), the app reads it at start (main.tsx). One definition for both sides.
 */

/** The id of the `<script type="application/json">` element that carries the config. */
export const PAGE_CONFIG_ID = "stagecast-config";

/**
 * What the page needs to reach the stack: the API's base URL (the stream is on the same origin
 * locally) and, when the stack runs with auth on, a bearer token (the local stack's development
 * token, minted for loopback only).
 */
export interface ExamplePageConfig {
  baseUrl: string;
  token?: string;
}

/** The page has no valid config element: it was not served by serve.ts. */
export class MissingPageConfigError extends Error {
  override name = "MissingPageConfigError";
}

/**
 * The config in `doc` (see {@link PAGE_CONFIG_ID}).
 * @throws MissingPageConfigError when the element is missing or has no `baseUrl`.
 */
export function readPageConfig(doc: Document): ExamplePageConfig {
  const text = doc.getElementById(PAGE_CONFIG_ID)?.textContent;
  const config = text ? (JSON.parse(text) as Partial<ExamplePageConfig>) : undefined;
  if (!config || typeof config.baseUrl !== "string") {
    throw new MissingPageConfigError(
      `no #${PAGE_CONFIG_ID} with a baseUrl: open the page that serve.ts serves`,
    );
  }
  return { baseUrl: config.baseUrl, ...(typeof config.token === "string" ? { token: config.token } : {}) };
}
