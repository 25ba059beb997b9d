"""Test helpers: synthetic pages and reference oracles (``make bench`` imports them too)."""
