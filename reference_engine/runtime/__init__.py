"""Runtimes: the I/O around the pure core (executor, worker loop, supervising daemon)."""
