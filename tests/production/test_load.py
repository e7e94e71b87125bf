"""The load test's short run, in CI: the locustfile of `make bench` (benchmarks/load_flow.py) with 20
parents and two administrators for 30 seconds against the production shape (conftest.py: two web
instances, two senders, PostgreSQL, Redis, the dev mailbox), and not one failure. The 5-minute run
with 200 parents and its figures are `make bench`'s (benchmarks/load.py, RESULTS.md)."""

from benchmarks.load import run_load, server_side
from benchmarks.load_steps import STEPS
from tests.production.conftest import report

PARENTS, SECONDS = 20, 30


def test_twenty_parents_walk_the_whole_flow_for_30_seconds_without_one_failure(stack):
    # Short pauses between steps: a parent gets from step 1 to a password within the 30 seconds.
    result = run_load(stack, PARENTS, SECONDS, staff=2, spawn_rate=10, think="0.2,0.6", decision_timeout=25)
    server = server_side(stack)

    problems = [f"{name}: {error} ({count}×)" for name, error, count in result.failures] + result.errors
    assert not problems, "\n".join(problems) + "\n" + result.output[-3000:]
    assert result.exit_code == 0, result.output[-3000:]
    ran = {step.name: step.requests for step in result.steps}
    assert {name: ran.get(name, 0) for name in STEPS.values() if not ran.get(name)} == {}
    assert server["passwords"] >= 1
    assert (server["server_errors"], server["tracebacks"]) == (0, 0)

    passwords = ran[STEPS["password"]]
    report(
        f"load, {PARENTS} parents for {SECONDS}s: {sum(step.requests for step in result.http)} requests"
        f" ({result.requests_per_second:.1f}/s), 0 failures, {passwords} parents reached a password;"
        " p95 ms " + ", ".join(f"{step.name.split()[0]} {step.p95:.0f}" for step in result.steps)
    )
