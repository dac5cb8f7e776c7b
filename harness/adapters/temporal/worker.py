"""A Temporal worker of one scenario: ``python -m harness.adapters.temporal.worker``.

Started by the adapter as an OS process (the thing a worker kill SIGKILLs), with
``$WFCONFORM_SESSION`` (the run's files) and the settings below in its environment. It
hosts the scenario workflow and both activities on the scenario's own task queue.
``max_cached`` 0 turns Temporal's sticky execution off: a workflow task whose worker died
then goes straight to the normal queue instead of waiting out the sticky timeout.
"""

from __future__ import annotations

import asyncio
import json
import os

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from harness.adapters.temporal.timeouts import worker_options
from harness.adapters.temporal.workflows import ScenarioWorkflow, calc_activity, step_activity
from harness.bodies import BodyRuntime

SETTINGS_ENV = "WFCONFORM_TEMPORAL_WORKER"


async def main() -> None:
    settings = json.loads(os.environ[SETTINGS_ENV])
    # load the run's scenario before polling: workflow code must yield within 2 s
    # (Temporal's deadlock detector), and a loaded machine can take that to read a file
    BodyRuntime.current()
    client = await Client.connect(settings["address"], namespace=settings["namespace"])
    options = worker_options(settings)
    worker = Worker(client, task_queue=settings["queue"], workflows=[ScenarioWorkflow],
                    activities=[step_activity, calc_activity],
                    workflow_runner=UnsandboxedWorkflowRunner(),
                    max_concurrent_activities=8, **options)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
