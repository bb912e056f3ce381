"""`streamer worker ...` with streamer.logsafe installed before anything logs (the worker command
does the same once run_worker installs it)."""

import sys

from streamer import logsafe
from streamer.cli import main
from streamer.settings import get_settings

if __name__ == "__main__":
    logsafe.install(get_settings())
    sys.exit(main(sys.argv[1:]))
