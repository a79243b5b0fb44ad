"""一表通: the reports departments ask for, in their own layouts, filled from the ledger.

``catalogue`` (measures generated from the schema), ``template`` (the workbook and its
mapping sheet), ``fill`` (filling and drill-down), ``library`` (built-in and published
templates), ``cli`` (``taizhang fill``).  No Qt.
"""
