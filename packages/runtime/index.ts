/**
 * packages/runtime: the leaf services every part uses (configuration, logging, metrics, CORS
 * lists, secret links). It imports nothing above packages/events; wiring parts together is
 * packages/compose's job. Other packages import from here only; this list is what they use.
 */
export { type Config, ConfigError, ConfigSchema, loadConfig, usesOfflineModel } from "./config.ts";
export { CORS_POLICY, parseOrigins } from "./cors.ts";
export { type LogFn, logFn, logger } from "./logger.ts";
export { METRIC, type Meter, meterEvents, powertoolsMeter } from "./metrics.ts";
export { linkedSecrets, SECRET_LINKS } from "./secret-links.ts";
