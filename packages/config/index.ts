/**
 * packages/config: the settings every part reads — the configuration schema (environment →
 * typed `Config`), the CORS policy and the names of linked SST secrets. A leaf: it imports no
 * other package. Other packages import from here only; this list is what they use.
 */
export { type Config, ConfigError, ConfigSchema, loadConfig, usesOfflineModel } from "./config.ts";
export { CORS_POLICY, parseOrigins } from "./cors.ts";
export { linkedSecrets, SECRET_LINKS } from "./secret-links.ts";
