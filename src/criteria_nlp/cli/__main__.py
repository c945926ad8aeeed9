import sys

from criteria_nlp.cli import main

sys.exit(main())
