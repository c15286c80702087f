import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { createClient, type StagecastClient } from "../../../packages/client/index.ts";
import {
  MissingStagecastClientError,
  StagecastProvider,
  useRun,
  useStagecastClient,
  useStartRun,
} from "../../../packages/react/index.ts";

/**
 * Which client a hook uses, rendered with react-dom/server (no DOM, no effects: nothing is
 * requested, so the clients point at a port nobody listens on).
 */

const provided = createClient({ baseUrl: "http://127.0.0.1:9" });
const given = createClient({ baseUrl: "http://127.0.0.1:9" });
const names = new Map<StagecastClient, string>([
  [provided, "provided"],
  [given, "given"],
]);

function Which({ client }: { client?: StagecastClient }) {
  return createElement("i", null, names.get(useStagecastClient(client)) ?? "other");
}

describe("the client the hooks use", () => {
  it("is the nearest StagecastProvider's, unless the hook is given one", () => {
    const html = renderToString(
      createElement(StagecastProvider, { client: provided }, [
        createElement(Which, { key: "a" }),
        createElement(Which, { key: "b", client: given }),
      ]),
    );
    expect(html).toBe("<i>provided</i><i>given</i>");
    expect(renderToString(createElement(Which, { client: given }))).toBe("<i>given</i>");
  });

  it("is missing outside a provider without the option: each hook throws MissingStagecastClientError", () => {
    for (const hook of [
      () => useRun("01M7Z3AYGVMJPM6ANRF6QTT349"),
      () => useStartRun(),
      () => useStagecastClient(),
    ]) {
      const Component = () => {
        hook();
        return null;
      };
      expect(() => renderToString(createElement(Component))).toThrow(MissingStagecastClientError);
    }
  });
});
