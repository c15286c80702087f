import { describe, expect, it } from "vitest";

describe("runtime", () => {
  it("runs on Node 24 (the `node` devDependency), not a machine-wide fallback", () => {
    const major = Number(process.versions.node.split(".")[0]);
    expect(major, `process.versions.node = ${process.versions.node}`).toBe(24);
  });
});
