import { StagecastApiError, StagecastProtocolError } from "./errors.ts";

/** How the client obtains the caller's bearer token: a fixed string, or a function (refreshing tokens). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>) | undefined;

/** The caller token now (undefined: send no Authorization header). */
export async function callerToken(token: TokenSource): Promise<string | undefined> {
  return typeof token === "function" ? await token() : token;
}

/** Retry-After (seconds or HTTP date) as ms, when present and valid (RFC 9110 §10.2.3). */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The error an unsuccessful response stands for: the API's `{ error: { code, message,
 * requestId } }` body when there is one, else `http_<status>` with the status text.
 */
export async function apiError(res: Response): Promise<StagecastApiError> {
  const retry = retryAfterMs(res.headers.get("retry-after"));
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; requestId?: unknown } } | undefined)
    ?.error;
  if (error && typeof error.code === "string" && typeof error.message === "string") {
    return new StagecastApiError(
      res.status,
      error.code,
      error.message,
      typeof error.requestId === "string" ? error.requestId : undefined,
      retry,
    );
  }
  return new StagecastApiError(
    res.status,
    `http_${res.status}`,
    res.statusText || `HTTP ${res.status}`,
    undefined,
    retry,
  );
}

/**
 * One JSON request to the API with the caller's token.
 * @throws StagecastApiError for a non-2xx answer; StagecastProtocolError for a 2xx that is not JSON;
 *   the fetch's own TypeError / AbortError for network failures and aborts.
 */
export async function requestJson<T>(
  fetchFn: typeof fetch,
  url: string,
  init: {
    method?: string;
    body?: unknown;
    token: TokenSource;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  },
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", ...init.headers };
  const token = await callerToken(init.token);
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetchFn(url, {
    method: init.method ?? "GET",
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  if (!res.ok) throw await apiError(res);
  try {
    return (await res.json()) as T;
  } catch {
    throw new StagecastProtocolError(
      `${init.method ?? "GET"} ${new URL(url).pathname} answered ${res.status} without JSON`,
    );
  }
}
