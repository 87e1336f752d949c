"""Source bytes -> definitions and imports, with tree-sitter: pure functions, no repository, no cache.

::

    definitions.py  one query per language and a rule per node type: (kind, name, scope, lines) of every definition
    c_family.py     the C and C++ rules: declarators, annotation and export macros, class members
    js_family.py    the JavaScript and TypeScript rules: function values, CommonJS assignments, overloads
    nodes.py        small helpers over tree-sitter nodes shared by the rules
    data_tables.py  long runs of number-only lines (generated tables) blanked before a parse: same result, fewer nodes
    imports.py      imports, package declarations and entry-point lines of one file (the architecture job's input)
    worker.py       parsing worker processes for cold scans of large trees (tree-sitter holds the GIL)

Used by the ``symbols`` tool and by the architecture job, which cache the results by blob id.
"""
