from alliance_service.cli import main as run

from .bootstrap import SPEC


def main() -> None:
    run(SPEC)


if __name__ == "__main__":
    main()
