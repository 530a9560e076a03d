import sys

from .tools.cli import main

# Without it argparse would call us `__main__.py` in usage lines and errors.
sys.exit(main(prog="python -m graphql_service"))
