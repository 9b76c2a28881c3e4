"""Run by agno 3.1.10 (``run_agno3(script, URL, SCHEMA)``): agno's own Agent/Team write the
scenario of ``tests/agno3_fixtures.py`` through ``PostgresDb(db_url=URL, db_schema=SCHEMA)``.

Prints the expected content (what agno returned) as JSON on its last line.
"""

import sys

sys.path.insert(0, ".")  # run_agno3 runs scripts from tests/, where agno3_fixtures.py is

from agno3_fixtures import main

raise SystemExit(main(["postgres", *sys.argv[1:]]))
