/**
 * packages/compose: the one composition function both roots call (functions/aws.ts on AWS,
 * local/stack/stack.ts locally): from a configuration and what the platform provides, every
 * part wired the same way. It sits above everything it wires, so the parts stay leaves.
 */
export { authSettings, devToken, generateSecret, isLoopback } from "./auth.ts";
export { streamSettings } from "./build-parts.ts";
export { compose, type Parts, type Platform } from "./compose.ts";
