import { describe, expect, it } from "vitest";
import { calledTools, planFeedback } from "../../../local/offline-model/conversation.ts";

describe("conversation", () => {
  it("calledTools names every tool an assistant message called, answered or not", () => {
    const messages = [
      { role: "user", content: "hi" },
      {
        role: "assistant",
        content: "",
        toolCalls: [
          { id: "call_1", name: "query_sales", arguments: "{}" },
          { id: "call_2", name: "calculator", arguments: "{}" },
        ],
      },
      { role: "tool", content: "1", toolCallId: "call_2" },
    ];
    expect([...calledTools(messages)]).toEqual(["query_sales", "calculator"]);
    expect(calledTools([{ role: "user", content: "hi" }]).size).toBe(0);
  });

  it("planFeedback reads the problems the planning stage appended", () => {
    expect(planFeedback("Request: x\n\nThe previous plan was rejected: step 1: bad; step 2: worse")).toBe(
      "step 1: bad; step 2: worse",
    );
    expect(planFeedback("Request: x")).toBe("");
  });
});
