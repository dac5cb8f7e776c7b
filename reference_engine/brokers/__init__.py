"""Message brokers for the real runtime (the AMQP client lives only here)."""
