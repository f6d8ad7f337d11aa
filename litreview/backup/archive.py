"""The backup operations under the name the CLI and the web app still import.

TODO(cli, web): import ``litreview.backup`` itself, then delete this module.
"""

from __future__ import annotations

from litreview.backup import *  # noqa: F403 - the package's __all__, nothing more
