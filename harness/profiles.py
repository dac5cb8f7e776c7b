"""wfconform's Hypothesis profiles, ``quick`` and ``deep``, registered for everyone.

Why here and not in a conftest: engine authors who install wfconform get the same
profiles from the pytest plugin (and the CLI uses them to draw scenarios), so a
``deep`` fuzz means the same thing everywhere. Registering never *loads* a profile:
choosing one stays explicit (``--hypothesis-profile``, ``--wfconform-profile`` or
``settings.load_profile``), because Hypothesis's own ``ci`` profile, picked implicitly
when ``CI=true``, derandomizes and would silently stop CI from finding anything new.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["PROFILES", "profile", "register_profiles"]

PROFILES: dict[str, dict[str, object]] = {
    "quick": {"max_examples": 25, "deadline": None, "derandomize": False, "print_blob": False,
              "suppress_health_check": [HealthCheck.too_slow]},
    "deep": {"max_examples": 2000, "deadline": None, "print_blob": False,
             "suppress_health_check": [HealthCheck.too_slow]},
}
"""``quick``: pull requests and CI; ``deep``: fuzzing (``wfconform fuzz --generator
hypothesis`` and ``pytest --wfconform --wfconform-profile deep``). No ``print_blob``:
its ``@reproduce_failure`` hint asks users to decorate a test they do not own (the
suite's); a failure ends with ``wfconform replay FILE`` and the ``--hypothesis-seed``
command instead."""


def register_profiles() -> None:
    """Register ``quick`` and ``deep`` (idempotent); load none of them."""
    for name, options in PROFILES.items():
        settings.register_profile(name, **options)  # type: ignore[arg-type]  # typed kwargs


def profile(name: str) -> settings:
    """The registered profile ``name``; ``ValueError`` names the known ones."""
    if name not in PROFILES:
        raise ValueError(f"Hypothesis profile {name!r} is not one of wfconform's "
                         f"({', '.join(PROFILES)}); pass quick or deep")
    register_profiles()
    return settings.get_profile(name)
