/** The terminal client's entry point: `npm run ask -- "…"`, `npm run stagecast -- watch <runId>`, bin/stagecast.mjs. */
import { run } from "./main.ts";

process.exitCode = await run(process.argv.slice(2));
