"""A worker prelude (``$REFERENCE_ENGINE_WORKER_PRELUDE``) that boots slowly: 1 s.

Stands in for a worker's imports on a loaded machine (test_daemon_serving.py).
"""

import time

time.sleep(1.0)
