export * from "./app.ts";
export * from "./responder.ts";
