"""The test suite's one weak Argon2id setting, passed explicitly wherever a test makes node or vault keys.

Node and vault keys default to keys.keystore.NODE_KDF (3 passes over
256 MiB, about a second each here); the functional tests start hundreds of
node processes, each unlocking its node key and perhaps its vault key, and
would spend minutes and gigabytes on derivation. Nothing outside tests/
uses this setting: production code has no weak default to fall back to.
The tests of the setting itself (tests/test_keystore.py, tests/test_cli.py,
tests/test_devnet.py) use the real one.
"""

from keys.keystore import MEMLIMIT_MIN, OPSLIMIT_MIN, KdfCost

TEST_KDF = KdfCost(opslimit=OPSLIMIT_MIN, memlimit=MEMLIMIT_MIN)
