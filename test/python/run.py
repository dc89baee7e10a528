"""Runs every test_*.py here with unittest and ends with one line: 'N passed, N failed'."""
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
suite = unittest.defaultTestLoader.discover(here, pattern="test_*.py")
result = unittest.TextTestRunner(verbosity=2).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
passed = max(0, result.testsRun - failed - len(result.skipped))
print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
