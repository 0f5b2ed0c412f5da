"""Sanctions screening in plain Python: list parsers (UN XML, OFAC CSV), name normalization and
fuzzy scoring. The Django side (apps/screening) stores lists and hits and calls into this."""
