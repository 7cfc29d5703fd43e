"""`python -m clickhouse.serve`: the embedded endpoint as a process (what `revguard clickhouse serve` runs).

    python -m clickhouse.serve [--home DIR] [--port N] [--password SECRET]

Prints one line with the URL once listening; stops on SIGTERM or Ctrl-C and removes its
state file. A store problem is one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clickhouse.endpoint import print_ready, serve
from clickhouse.errors import StoreError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clickhouse.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="store home (default: $REVGUARD_HOME or ./.revguard)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--password", default=None, help="require this password (user 'default')")
    options = parser.parse_args(argv)
    try:
        serve(home=options.home, port=options.port, password=options.password, ready=print_ready)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
