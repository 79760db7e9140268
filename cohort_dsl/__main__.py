import sys

from cohort_dsl.cli import main

sys.exit(main())
