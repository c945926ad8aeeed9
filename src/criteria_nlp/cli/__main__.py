import sys

from criteria_nlp.cli import main

if __name__ == "__main__":  # a spawned side process imports this module without running it
    sys.exit(main())
