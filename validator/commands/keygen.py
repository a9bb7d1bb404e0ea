"""``esr-validator keygen PATH [--force]``: write an Ed25519 key pair for signing reports."""

from __future__ import annotations

import argparse

from validator.errors import EXIT_OK
from validator.signing.keys import PASSPHRASE_ENV, write_keypair


def run(args: argparse.Namespace) -> int:
    pair = write_keypair(args.path, force=args.force)
    print(f"wrote private key {pair.private_path} (mode 0600; keep it secret, never commit it)")
    print(f"wrote public key  {pair.public_path} (publish this one)")
    print(f"key id: {pair.keyid}")
    print(f"(the private key is encrypted when ${PASSPHRASE_ENV} is set)")
    return EXIT_OK
