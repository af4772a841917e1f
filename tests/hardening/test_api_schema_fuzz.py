"""schemathesis against /api/schema/ on a real daphne: every operation, anonymous and with a
bearer token, its coverage phase (boundary and hostile values: NUL bytes, huge numbers, wrong
types...) then a bounded number of fuzzed examples per operation, positive and negative. No
answer may be a 5xx; every status must be one the operation documents (apps/core/schema.py adds
the 4xx answers every operation can give), with the documented content type and body schema."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.live.conftest import transactional
from tests.support import processes
from tests.support.factories import RaceFactory

pytestmark = pytest.mark.slow
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
MAX_EXAMPLES = 10  # fuzzed examples per operation and mode, after the coverage phase
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


# One worker: with two threads, Hypothesis' ast.parse of a filter lambda sometimes dies of CPython's
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905, threaded ast.parse
# on 3.11), a runtime error of the tool that failed the run; one worker costs ~10 s here.
def schemathesis_run(base: str, report: Path, *headers: str) -> subprocess.CompletedProcess:
    args = [SCHEMATHESIS, "run", f"{base}/api/schema/", "--url", base, "--checks", CHECKS,
            "--phases", "examples,coverage,fuzzing", "--max-examples", str(MAX_EXAMPLES), "--mode", "all",
            "--seed", "13", "--generation-deterministic", "--workers", "1", "--request-timeout", "30",
            "--continue-on-failure", "--suppress-health-check", "all", "--no-color",
            "--report", "junit", "--report-junit-path", str(report)]
    for header in headers:
        args += ["--header", header]
    # Run beside the report: schemathesis keeps its cache (.schemathesis/) and Hypothesis its
    # example database under the working directory, which must not be the repository.
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=report.parent)


@transactional
def test_no_operation_answers_a_server_error_or_an_undocumented_answer(tmp_path):
    from apps.accounts.services import user_register
    from apps.market.services import stock_upsert_demo_universe

    stock_upsert_demo_universe()
    RaceFactory(state="running", symbols=("AAPL", "MSFT", "NVDA"))
    RaceFactory(state="open", symbols=("AAPL", "MSFT", "NVDA"))
    user_register(username="fuzzer", password="correct-horse-battery")
    # Sign-ups are throttled even under the test settings: let the fuzzer reach the view.
    with processes.daphne(API_THROTTLE_REGISTER="100000/hour", API_THROTTLE_REGISTER_NETWORK="100000/hour") as server:
        token = requests.post(f"{server.url}/api/v1/auth/token/",
                              json={"username": "fuzzer", "password": "correct-horse-battery"}).json()["access"]
        anonymous = schemathesis_run(server.url, tmp_path / "anonymous.xml")
        authenticated = schemathesis_run(server.url, tmp_path / "token.xml", f"Authorization: Bearer {token}")
        log = server.log()
    for name, run in (("anonymous", anonymous), ("with a token", authenticated)):
        assert "operations" in run.stdout.lower() or "tested" in run.stdout.lower(), run.stdout[-3000:]
        assert run.returncode == 0, (f"schemathesis ({name}) found failures:\n{run.stdout[-8000:]}\n{run.stderr[-2000:]}"
                                     f"\n--- server log:\n{log[-3000:]}")
