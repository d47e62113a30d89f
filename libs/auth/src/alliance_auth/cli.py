"""`alliance-token`: generate dev signing keys and issue dev access tokens."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alliance_auth.dev import DEFAULT_KEY_DIR, DEV_AUDIENCE, DEV_ISSUER, DevKeys
from alliance_auth.roles import Roles


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit code."""
    args = _parser().parse_args(argv)
    return args.run(args)


def _keygen(args: argparse.Namespace) -> int:
    """Create the key pair and JWKS."""
    try:
        keys = DevKeys.create(args.dir, force=args.force)
    except FileExistsError as exc:
        print(f"alliance-token: {exc} (use --force to overwrite)", file=sys.stderr)
        return 1
    print(f"private key: {keys.private_key_path}")
    print(f"jwks:        {keys.jwks_path}")
    print(f"kid:         {keys.kid}")
    return 0


def _issue(args: argparse.Namespace) -> int:
    """Print a signed token."""
    try:
        keys = DevKeys.load(args.dir)
    except (OSError, ValueError) as exc:
        print(f"alliance-token: cannot load keys from {args.dir}: {exc}", file=sys.stderr)
        return 1
    for role in args.roles:
        if role not in Roles.KNOWN:
            print(f"alliance-token: warning: unknown role {role!r}", file=sys.stderr)
    print(
        keys.issue(
            args.sub,
            hospital_id=args.hospital,
            roles=args.roles,
            ttl=args.ttl,
            issuer=args.issuer,
            audience=args.audience,
        )
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    parser = argparse.ArgumentParser(prog="alliance-token", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    keygen = commands.add_parser("keygen", help="create an ES256 key pair and jwks.json")
    keygen.add_argument("--dir", default=str(DEFAULT_KEY_DIR), help="key directory")
    keygen.add_argument("--force", action="store_true", help="overwrite existing keys")
    keygen.set_defaults(run=_keygen)

    issue = commands.add_parser("issue", help="print a signed access token")
    issue.add_argument("--dir", default=str(DEFAULT_KEY_DIR), help="key directory")
    issue.add_argument("--sub", required=True, help="subject")
    issue.add_argument("--hospital", help="hospital_id claim")
    issue.add_argument(
        "--role", dest="roles", action="append", required=True, help="role (repeatable)"
    )
    issue.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    issue.add_argument("--issuer", default=DEV_ISSUER)
    issue.add_argument("--audience", default=DEV_AUDIENCE)
    issue.set_defaults(run=_issue)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
