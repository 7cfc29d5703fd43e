"""The `revguard` command line (SPEC section 5).

Each subcommand imports its machinery lazily so that `--help` stays fast and a
missing optional piece never breaks the others. User mistakes surface as one
line on stderr and a non-zero exit (`UsageFailure`), never a traceback.
"""
from __future__ import annotations

import sys

import click


class UsageFailure(click.ClickException):
    """A mistake the user can fix: printed as one line, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # one line, no usage block
        click.echo(f"revguard: error: {self.format_message()}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="revguard")
def cli() -> None:
    """revguard: stream-processing revenue assurance for mobile operators."""


def main() -> None:
    cli(prog_name="revguard")


if __name__ == "__main__":
    sys.exit(main())
