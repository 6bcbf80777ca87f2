"""Core logic: plain functions over data, no printing, no direct git access."""
