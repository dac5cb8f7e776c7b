"""The environment variable that hands a broker URL to worker processes.

In the environment rather than on the command line, so that a password in the URL does
not show in ``ps``. Its own module so the daemon need not import pika to name it.
"""

BROKER_ENV = "WFCONFORM_ENGINE_BROKER_URL"
