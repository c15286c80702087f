import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The structured logger every part uses: Powertools for AWS Lambda's Logger (JSON lines with
 * level, timestamp, service, and on Lambda the request id and cold start). It is maintained by
 * AWS and is what Lambda's log tooling expects, so we adopt it rather than write one.
 * Locally, POWERTOOLS_DEV=true pretty-prints; LOG_LEVEL sets the level (default INFO). On AWS
 * infra sets POWERTOOLS_SERVICE_NAME per function (stagecast-api, stagecast-stage, …).
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || "stagecast" });

/** A logging function for packages that should not depend on the logger's type (fields are merged in). */
export type LogFn = (line: Record<string, unknown>) => void;

/**
 * A {@link LogFn} writing through the Powertools logger: `level` (debug/info/warn/error,
 * default info) and `msg` pick the call; the other fields become structured keys.
 */
export function logFn(target: Logger = logger): LogFn {
  return ({ level, msg, ...fields }) => {
    const text = typeof msg === "string" ? msg : "log";
    switch (level) {
      case "error":
        target.error(text, fields);
        break;
      case "warn":
        target.warn(text, fields);
        break;
      case "debug":
        target.debug(text, fields);
        break;
      default:
        target.info(text, fields);
    }
  };
}
