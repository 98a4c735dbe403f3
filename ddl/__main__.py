import sys

from ddl.cli import main

sys.exit(main())
