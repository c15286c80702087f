// The read path's CDN: CloudFront (SST's Router) in front of the stream function's URL, so
// identical long-poll reads of one run collapse into one origin request.

/**
 * Longest a CloudFront edge waits for the origin's response (s). The stream function's
 * long-poll answers within LONG_POLL_WAIT_MS (at most 25 s), so 30 s leaves it time to answer;
 * it is also the longest silence allowed between bytes of an SSE response routed through the
 * CDN (heartbeats come far more often). CloudFront allows 1–60 s without a quota increase
 * (CloudFront Developer Guide, "Response timeout (custom origins only)").
 */
export const CDN_READ_TIMEOUT_SECONDS = 30;

/**
 * The cache policy of the read path. The cache key is the path and the WHOLE query string
 * (`after` and the run-scoped watch token `token` among it), and nothing else — no cookie, and
 * no header but `Origin` when CORS is on ({@link readCachePolicy}). So one response serves every watcher at the same cursor with the same credential,
 * and a URL is only ever answered from the cache after the origin accepted its credential: a
 * request without that run's token has another key and goes to the origin, which refuses it
 * (`Cache-Control: no-store`). TTLs: default 0 and min 0 (the origin's Cache-Control decides:
 * `immutable` for past ranges, `max-age=1` at the live edge, `no-store` on errors), max one
 * year. Compression is part of the key so gzip and br bodies are kept apart.
 */
const READ_CACHE_POLICY = {
  comment: "Stagecast reads: key = path + every query parameter (cursor and watch token)",
  defaultTtl: 0,
  minTtl: 0,
  maxTtl: 31_536_000,
  parametersInCacheKeyAndForwardedToOrigin: {
    cookiesConfig: { cookieBehavior: "none" },
    headersConfig: { headerBehavior: "none" },
    queryStringsConfig: { queryStringBehavior: "all" },
    enableAcceptEncodingBrotli: true,
    enableAcceptEncodingGzip: true,
  },
} as const;

/**
 * {@link READ_CACHE_POLICY}, with `Origin` in the key when CORS is on (`corsOrigins` not empty):
 * the Function URL answers CORS with `Access-Control-Allow-Origin` set to the request's own
 * origin, and CloudFront ignores `Vary` (but Accept-Encoding), so without it a body cached for
 * one web origin would be served, with that origin's header, to another, whose browser would
 * then refuse it. The split costs one cache entry per allowed web origin (a handful).
 */
export function readCachePolicy(corsOrigins: readonly string[]) {
  if (corsOrigins.length === 0) return READ_CACHE_POLICY;
  return {
    ...READ_CACHE_POLICY,
    parametersInCacheKeyAndForwardedToOrigin: {
      ...READ_CACHE_POLICY.parametersInCacheKeyAndForwardedToOrigin,
      headersConfig: { headerBehavior: "whitelist", headers: { items: ["Origin"] } },
    },
  };
}

/**
 * CloudFront in front of the stream function's Function URL (every path: the long-poll reads,
 * which it caches per the origin's Cache-Control, and the SSE streams, which say `no-cache`
 * and pass through). CloudFront sends one origin request for simultaneous requests with the
 * same cache key while the first is in flight when the response is cacheable (CloudFront
 * Developer Guide, "Simultaneous requests for the same object (request collapsing)"): a
 * thousand watchers at the live edge cost the store what one does.
 * @returns the router; its `url` is what clients are given as the stream base URL.
 */
export function createCdn({
  streamUrl,
  corsOrigins,
}: {
  streamUrl: $util.Output<string>;
  corsOrigins: readonly string[];
}) {
  const router = new sst.aws.Router("Reads", {
    transform: {
      cachePolicy: (args) => {
        Object.assign(args, readCachePolicy(corsOrigins));
      },
    },
  });
  router.route("/", streamUrl, { readTimeout: `${CDN_READ_TIMEOUT_SECONDS} seconds` });
  return router;
}
