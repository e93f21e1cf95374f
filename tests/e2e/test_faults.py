"""The fault suite's short run (devstack/faults.py; `make test-faults N=…` for a long one): six purchases
through the whole stack, on PostgreSQL and Redis of its own, while the sidecar, the worker and the action
server are killed, both servers stop for a few seconds, callbacks come late, twice and out of order, and
four kinds of forged callback arrive. Rasa is not killed here: reloading its model takes one to two
minutes on two cores, more than this run's budget; `make test-faults` kills it. The audit against the
simulator's books must print zeros where it must."""

from devstack import faults


async def test_a_short_fault_run_leaves_every_payment_and_every_unit_of_stock_accounted_for(tmp_path):
    plan = faults.Plan(purchases=6, seed=20261201, rasa_kills=0, extra_faults=2)
    audit = await faults.run(plan, tmp_path / "faults")
    print(audit.table())
    assert audit.passed, audit.table()
