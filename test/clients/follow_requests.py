"""Follow a Stagecast run's stream to its end with requests and a small SSE reader (docs/client.md).

Usage: python follow_requests.py STREAM_URL [AFTER]
Prints each stored event as one JSON line on stdout, and the frames that are not stored
(heartbeat, reconnect, ended) and each connection as JSON lines on stderr.
"""

import json
import sys
import time

import requests

TERMINAL = {"run.completed", "run.failed", "run.cancelled", "run.timed_out"}
CONTROL = {"heartbeat", "reconnect", "ended"}


def read_sse(response):
    """Yield (event, data, retry) per frame, as the SSE spec (WHATWG HTML 9.2.6) reads lines."""
    event, data, retry = "", [], None
    # Bytes, split on \n, \r\n or \r only; decoded per line, so no character is cut in two.
    for raw in response.iter_lines():
        line = raw.decode("utf-8")
        if not line:  # a blank line ends the frame; one without data dispatches nothing
            if data:
                yield event or "message", "\n".join(data), retry
            event, data, retry = "", [], None
            continue
        if line.startswith(":"):
            continue  # a comment
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "retry" and value.isdigit():
            retry = int(value)
        # `id:` is the event's seq, which the data carries too.


def follow(stream_url, after=0, on_control=lambda kind, data: None):
    """Yield every stored event after `after` once, in seq order, until the run's end.

    requests has no default timeout: (5, 10) gives up on a connection that says nothing for
    10 s (the server sends a heartbeat after 2.5 s of silence) and opens it again.
    """
    retry_s = 1.0
    with requests.Session() as session:
        while True:
            try:
                with session.get(
                    stream_url,
                    params={"after": after},
                    headers={"Accept": "text/event-stream"},
                    stream=True,
                    timeout=(5, 10),
                ) as response:
                    on_control("open", {"status": response.status_code, "after": after})
                    if response.status_code == 204:
                        return  # nothing after `after`: the run had already ended
                    response.raise_for_status()  # 401: mint a new stream token; 404
                    for event, text, retry in read_sse(response):
                        if retry is not None:
                            retry_s = retry / 1000
                        data = json.loads(text)
                        if event in CONTROL:
                            on_control(event, data)
                            if event == "ended":
                                return  # the run ended at or before `after`
                            continue
                        after = data["seq"]
                        yield data
                        if data["type"] in TERMINAL:
                            return
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                on_control("error", {"error": repr(error)})  # dropped or silent: resume
            time.sleep(retry_s)


if __name__ == "__main__":
    def log(kind, data):
        print(json.dumps({"control": kind, **data}), file=sys.stderr, flush=True)

    start = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    for event in follow(sys.argv[1], start, log):
        print(json.dumps(event), flush=True)
