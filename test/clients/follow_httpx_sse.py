"""Follow a Stagecast run's stream to its end with httpx and httpx-sse (docs/client.md).

Usage: python follow_httpx_sse.py STREAM_URL [AFTER]
Prints each stored event as one JSON line on stdout, and the frames that are not stored
(heartbeat, reconnect, ended) and each connection as JSON lines on stderr.
"""

import json
import sys
import time

import httpx
from httpx_sse import connect_sse

TERMINAL = {"run.completed", "run.failed", "run.cancelled", "run.timed_out"}
CONTROL = {"heartbeat", "reconnect", "ended"}


def follow(stream_url, after=0, on_control=lambda kind, data: None):
    """Yield every stored event after `after` once, in seq order, until the run's end.

    The server closes the stream now and then (a `reconnect` frame); this opens it again
    with ?after=<last seq> once the server's `retry:` has passed. httpx's default timeout
    (5 s between two reads) is enough: the server sends a heartbeat after 2.5 s of silence.
    """
    retry_s = 1.0
    with httpx.Client() as client:
        while True:
            try:
                with connect_sse(client, "GET", stream_url, params={"after": after}) as source:
                    on_control("open", {"status": source.response.status_code, "after": after})
                    if source.response.status_code == 204:
                        return  # nothing after `after`: the run had already ended
                    source.response.raise_for_status()  # 401: mint a new stream token; 404
                    for sse in source.iter_sse():
                        if sse.retry is not None:
                            retry_s = sse.retry / 1000
                        data = json.loads(sse.data)
                        if sse.event in CONTROL:
                            on_control(sse.event, data)
                            if sse.event == "ended":
                                return  # the run ended at or before `after`
                            continue
                        after = data["seq"]
                        yield data
                        if data["type"] in TERMINAL:
                            return
            except httpx.TransportError as error:  # a dropped connection or a read timeout
                on_control("error", {"error": repr(error)})
            time.sleep(retry_s)


if __name__ == "__main__":
    def log(kind, data):
        print(json.dumps({"control": kind, **data}), file=sys.stderr, flush=True)

    start = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    for event in follow(sys.argv[1], start, log):
        print(json.dumps(event), flush=True)
