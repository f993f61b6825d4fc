import sys

from icp.cli import main

sys.exit(main())
