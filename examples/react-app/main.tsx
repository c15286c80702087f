/**
 * The example's entry in the browser: one client for the whole app (StagecastProvider), the
 * app in StrictMode. In your own app the imports are `@stagecast/client` and `@stagecast/react`
 * (docs/client.md, "React"); here they are the packages' sources, so the example runs from a
 * clone with one command.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createClient } from "../../packages/client/index.ts";
import { StagecastProvider } from "../../packages/react/index.ts";
import { App } from "./app.tsx";
import { readPageConfig } from "./page-config.ts";

const config = readPageConfig(document);
const client = createClient({ baseUrl: config.baseUrl, ...(config.token ? { token: config.token } : {}) });
const root = document.getElementById("root");
if (!root) throw new Error("the page has no #root element");
createRoot(root).render(
  <StrictMode>
    <StagecastProvider client={client}>
      <App />
    </StagecastProvider>
  </StrictMode>,
);
