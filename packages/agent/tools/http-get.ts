import { z } from "zod";
import { defineTool, type Tool, ToolError } from "./define-tool.ts";

/** Settings of {@link httpGetTool}. */
export interface HttpGetOptions {
  /** URL prefixes that may be fetched (e.g. `https://api.example.com/`); empty = the tool is off. */
  allowlist: readonly string[];
  /** Time limit of one fetch (ms). */
  timeoutMs: number;
  /** Most response bytes read; the rest is dropped and `truncated` set. */
  maxBytes: number;
}

/**
 * `http_get`: fetches a URL that starts with an allowlisted prefix. Redirects are not followed
 * (a redirect could leave the allowlist); the body is read up to `maxBytes`.
 * @returns undefined when the allowlist is empty: the tool is then not offered at all.
 */
export function httpGetTool(options: HttpGetOptions): Tool | undefined {
  if (options.allowlist.length === 0) return undefined;
  return defineTool({
    name: "http_get",
    description: `Fetch a web page or API response with GET. Only URLs starting with one of these prefixes are allowed: ${options.allowlist.join(", ")}`,
    input: z.object({ url: z.string().url().max(2000) }),
    timeoutMs: options.timeoutMs,
    run: async ({ url }, ctx) => {
      const target = new URL(url);
      if (!options.allowlist.some((prefix) => allows(prefix, target))) {
        throw new ToolError(`${url} is not on the allowlist`);
      }
      let res: Response;
      try {
        res = await fetch(target, { redirect: "manual", signal: ctx.signal });
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        throw new ToolError(`could not fetch ${url}`);
      }
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        throw new ToolError(`${url} redirects; redirects are not followed`);
      }
      const { text, truncated } = await readCapped(res, options.maxBytes);
      return { url, status: res.status, contentType: res.headers.get("content-type"), body: text, truncated };
    },
  });
}

/**
 * Whether allowlist entry `prefix` admits `target`: same origin (scheme, host, port — so
 * `https://api.example.com` does not admit `https://api.example.com.evil.net`) and a path that
 * starts with the entry's path, both after URL normalisation (so `/pub/../private` is
 * `/private` when it is checked, exactly as it will be fetched).
 */
function allows(prefix: string, target: URL): boolean {
  let entry: URL;
  try {
    entry = new URL(prefix);
  } catch {
    return false;
  }
  if (entry.origin !== target.origin) return false;
  // `/v1` admits `/v1` and `/v1/…`, not `/v1evil`; `/pub/` admits everything below it.
  const path = entry.pathname;
  return path.endsWith("/")
    ? target.pathname.startsWith(path)
    : target.pathname === path || target.pathname.startsWith(`${path}/`);
}

async function readCapped(res: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: "", truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  const bytes = Buffer.concat(chunks).subarray(0, maxBytes);
  return { text: new TextDecoder().decode(bytes), truncated };
}
