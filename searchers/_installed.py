"""Fail with a clear message when the ``raynas`` package that Python finds is not the installed one.

A folder named ``raynas`` without ``__init__.py`` (a git clone of this project, say) in the working
directory or on ``sys.path`` becomes a namespace package that wins over an editable install; every
``from raynas.x import y`` then fails, inside Ray workers too, where the user would only see that
the metrics are missing from the results.
"""

import raynas

if getattr(raynas, "__file__", None) is None:
    raise ImportError(
        f"the folder {list(getattr(raynas, '__path__', []))} shadows the installed raynas package (a directory "
        f"named 'raynas' without __init__.py, e.g. a git clone, in the working directory or on sys.path): run from "
        f"another directory or rename that folder")
