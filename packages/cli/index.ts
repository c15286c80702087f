/**
 * packages/cli: the `stagecast` terminal client. Its entry point is bin.ts (bin/stagecast.mjs,
 * `npm run stagecast`); no other package imports it, so this index exports nothing.
 */
export {};
