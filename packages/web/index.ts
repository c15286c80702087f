/**
 * packages/web: the browser page's script. The server (packages/api/page.ts) inlines the
 * esbuild bundle built from main.ts by scripts/build-web.ts; that is all other packages use.
 */
export { WEB_APP_JS } from "./bundle.gen.ts";
