"""The Runner process: ``python -m harness.adapters.prefect.serve`` serves the deployment.

Started by ``server.LocalPrefect`` with the run's Prefect settings in its environment;
each flow run becomes a child process of this one.
"""

from __future__ import annotations

from harness.adapters.prefect.flows import scenario_flow
from harness.adapters.prefect.server import DEPLOYMENT

if __name__ == "__main__":
    scenario_flow.serve(name=DEPLOYMENT, limit=8, print_starting_message=False)
