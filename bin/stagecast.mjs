#!/usr/bin/env node
// `npx stagecast …` from a clone: run the TypeScript CLI (packages/cli) through tsx.
import { register } from "tsx/esm/api";

register();
await import("../packages/cli/bin.ts");
