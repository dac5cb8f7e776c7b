"""wfconform's harness: runs scenarios against an engine through an adapter."""

__all__: list[str] = []
