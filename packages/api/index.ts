/**
 * packages/api: the API app (start, cancel, look up and list runs; the page). Other packages
 * import from here only; this list is what they use.
 */
export { createApiApp } from "./api-app.ts";
