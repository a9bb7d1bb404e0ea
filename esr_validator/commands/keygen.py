"""``esr-validator keygen PATH [--force]``: write an Ed25519 key pair for signing reports."""

from __future__ import annotations

import argparse

from esr_validator.errors import EXIT_OK
from esr_validator.signing.keys import PASSPHRASE_ENV, write_keypair


def run(args: argparse.Namespace) -> int:
    pair = write_keypair(args.path, force=args.force)
    protection = (
        f"encrypted with ${PASSPHRASE_ENV}"
        if pair.encrypted
        else f"unencrypted; set ${PASSPHRASE_ENV} to encrypt"
    )
    print(f"wrote private key {pair.private_path} (mode 0600, {protection})")
    print("  keep it secret and out of version control")
    print(f"wrote public key  {pair.public_path} (publish this one)")
    print(f"key id: {pair.keyid}")
    return EXIT_OK
