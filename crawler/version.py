"""parcrawl's version, in the kernel: the user agent, WARC records and the Dask checks read it.

Its own module so that kernel and worker-side code need not import the package face
(``crawler/__init__.py``), which re-exports the whole API.
"""

from __future__ import annotations

__version__ = "0.1.0"
