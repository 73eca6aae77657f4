"""Hotline QA tests (a package, so that tests/classifiers and tests/transcribe do not shadow
the product packages of the same names on sys.path)."""
