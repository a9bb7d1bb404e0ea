"""One module per sub-command, each exposing ``run(args: argparse.Namespace) -> int``."""
