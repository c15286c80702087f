import { type FormEvent, type ReactElement, useState } from "react";
import { useStartRun } from "../../packages/react/index.ts";
import { RunPanel } from "./run-panel.tsx";

/** The question the form starts with. */
export const DEFAULT_QUESTION = "What is 1234 * 5678, and how does a browser see the progress of a long run?";

/**
 * The example app: a question form (useStartRun) and the newest run, live (RunPanel, useRun).
 * Asking again shows the new run: the old one's stream is closed, the run itself goes on.
 */
export function App(): ReactElement {
  const { start, runId, pending, error } = useStartRun();
  const [question, setQuestion] = useState(DEFAULT_QUESTION);
  const ask = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void start({ question: question.trim() });
  };
  return (
    <main>
      <header>
        <h1>
          Stagecast <small>React example</small>
        </h1>
        <p>
          <code>useStartRun</code> starts a run; <code>useRun</code> shows its stages, progress and answer as
          they stream.
        </p>
      </header>
      <form onSubmit={ask}>
        <label htmlFor="question">Question</label>
        <textarea id="question" rows={2} value={question} onChange={(e) => setQuestion(e.target.value)} />
        <button type="submit" disabled={pending || question.trim() === ""}>
          {pending ? "Starting…" : "Ask"}
        </button>
      </form>
      {error ? (
        <p role="alert" className="error">
          Could not start the run: {error.message}
        </p>
      ) : null}
      {runId ? (
        <RunPanel key={runId} runId={runId} />
      ) : (
        <p className="hint">Ask a question to start a run.</p>
      )}
    </main>
  );
}
