# The Kubernetes diagnosis agent's client (test_single_issue.py in that project's write-up),
# as it was, against Stagecast's POST /get_solution_stream. Adapted only in:
# - the host and port: the base URL is the first argument (it was http://localhost:8002);
# - auth: `Authorization: Bearer $STAGECAST_TOKEN` when that variable is set (it had none);
# - lines that are not `data:` lines are skipped (it parsed every line, blank ones too);
# - the solution is printed after "Complete!" (the write-up's excerpt stops at the
#   message; the script is named for the solution it fetches).
# Run by test/e2e/seed-clients.test.ts with the requests package from .venv
# (test/clients/requirements.txt).
import json
import os
import sys

import requests

base = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8002"
token = os.environ.get("STAGECAST_TOKEN")
headers = {"Authorization": f"Bearer {token}"} if token else {}

resp = requests.post(
    f"{base}/get_solution_stream",
    json={"filter": "Pod"},  # Speed up with filter
    stream=True,
    headers=headers,
)

for line in resp.iter_lines():
    if not line.startswith(b"data: "):
        continue
    data = json.loads(line[6:])
    if data['status'] == 'analyzing':
        print(f"\r⏱️ Elapsed: {data['elapsed']}s", end='')
    elif data['status'] == 'complete':
        print("\r✅ Complete!")
        print(data['solution'])
