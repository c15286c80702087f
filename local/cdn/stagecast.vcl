vcl 4.1;

# Varnish in front of the local stack, standing in for CloudFront in front of the stream host, so
# the long-poll route's cacheability can be exercised on one machine (docs/api.md,
# "GET /runs/{runId}/poll"; test/e2e/long-poll-cdn.test.ts; the benchmark). The policy mirrors the
# CloudFront cache policy the route is designed for:
# - only GET and HEAD of /runs/{runId}/poll are cached; every other request passes through;
# - the cache key is the path and the full query string as sent, the watch token included: a
#   cached answer is only ever served for a URL whose token the origin accepted (CloudFront: a
#   cache policy with all query strings in the key);
# - the origin's Cache-Control decides: max-age is the TTL; no-store, no-cache and private are
#   never stored (Varnish's built-in rule); no grace, so nothing is served past max-age
#   (CloudFront serves stale only when told to with stale-while-revalidate);
# - Cookie and Authorization are neither forwarded nor keyed on (the poll route reads neither);
# - identical requests that arrive while one is being fetched wait for it and are all answered
#   from it: Varnish's waiting list, CloudFront's request collapsing.
#
# Run it in front of `npm start` (127.0.0.1:3000):
#   varnishd -F -n /tmp/stagecast-varnish -a 127.0.0.1:8080 -f "$PWD/local/cdn/stagecast.vcl" -s malloc,64m
# Tests and the benchmark point the backend below elsewhere by rewriting its .host and .port.

backend default {
  .host = "127.0.0.1";
  .port = "3000";
  # Longer than the longest long-poll wait (LONG_POLL_WAIT_MS, at most 25 s), like CloudFront's
  # default origin response timeout of 30 s.
  .first_byte_timeout = 30s;
}

sub vcl_recv {
  if ((req.method != "GET" && req.method != "HEAD") || req.url !~ "^/runs/[^/?]+/poll(\?|$)") {
    return (pass);
  }
  # Varnish's built-in rule would pass a request with either; the route reads neither.
  unset req.http.Cookie;
  unset req.http.Authorization;
  return (hash);
}

sub vcl_hash {
  # THE CACHE KEY: path and full query string. Dropping the token from it would serve one URL
  # holder's answer to anyone (test/e2e/long-poll-cdn.test.ts checks that it would).
  hash_data(req.url);
  return (lookup);
}

sub vcl_backend_response {
  # Falls through to the built-in rule afterwards: no-store/no-cache/private answers are
  # marked uncacheable (hit-for-miss), everything else lives for its max-age.
  set beresp.grace = 0s;
}
