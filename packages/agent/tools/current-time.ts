import { z } from "zod";
import { defineTool, ToolError } from "./define-tool.ts";

/** `current_time`: the current date and time, in UTC and optionally in an IANA time zone. */
export const currentTimeTool = defineTool({
  name: "current_time",
  description:
    "Get the current date and time (ISO-8601 UTC, and local time in an IANA time zone such as Europe/Paris).",
  input: z.object({ timezone: z.string().max(64).nullable().default(null) }),
  timeoutMs: 1000,
  run: async ({ timezone }, ctx) => {
    const now = new Date(ctx.now());
    const zone = timezone ?? "UTC";
    let local: string;
    try {
      local = new Intl.DateTimeFormat("en-GB", {
        dateStyle: "full",
        timeStyle: "long",
        timeZone: zone,
      }).format(now);
    } catch {
      throw new ToolError(`unknown time zone "${zone}"`);
    }
    return { iso: now.toISOString(), timezone: zone, local };
  },
});
