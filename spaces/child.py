"""Run one part as `spaces up` starts it: `python -m spaces.child [--verbose] MODULE [ARG...]`.

Logging is set up first, in the mode `spaces up` was given, and then MODULE runs as
`python -m MODULE ARG...` would. Each part's own logging setup then finds it done, so
every part speaks the same way: what a person needs, or everything with --verbose.
A part that stops on an error says so in one line; --verbose shows the traceback.
"""

from __future__ import annotations

import logging
import runpy
import sys

from core.logs import setup_logging

log = logging.getLogger("spaces.child")


def main(argv: list[str] | None = None) -> None:
    """Set up logging, then run the named module as the main program."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = bool(args) and args[0] == "--verbose"
    if verbose:
        args.pop(0)
    if not args:
        sys.exit("usage: python -m spaces.child [--verbose] MODULE [ARG...]")
    setup_logging(verbose=verbose)
    module, rest = args[0], args[1:]
    sys.argv = [module, *rest]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except Exception as error:
        if verbose:
            raise
        # What a person acts on is what failed; the traceback is for --verbose.
        log.error("%s stopped on an error: %s: %s", module, type(error).__name__, error)
        sys.exit(1)


if __name__ == "__main__":
    main()
