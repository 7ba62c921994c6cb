"""``python -m adaft_core.cli``: the ``adaft`` command; a file in the working folder must not replace a library."""

import sys

from adaft_core.store.module_path import drop_working_folder

drop_working_folder()

from adaft_core.cli import main  # noqa: E402  (after the working folder is off the path)

sys.exit(main())
