"""The sans-I/O core: process definitions, outline interpreter, hashing and caching rules."""
