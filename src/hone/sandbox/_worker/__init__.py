"""The code that runs inside the sandbox's worker process.

It imports nothing from hone (only the standard library, and the optional ``landlockpy`` and
``pyseccomp`` bindings while it confines itself), so a worker starts in tens of milliseconds:
the host runs ``python -I -c`` with this folder's parent on ``sys.path`` and calls
:func:`main`. Modules here use relative imports only, so they load both as
``hone.sandbox._worker`` (on the host, for the type checker and the tests) and as the
top-level ``_worker`` package (in the worker).
"""
