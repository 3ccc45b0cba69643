"""Teaching mode widgets: the decision-boundary view (boundary_plot.py draws, boundary_tab.py
feeds it from the document and the running trainer), the lesson note above the canvas
(lesson_note.py) and the wire probe (probe_menu.py: right-click a wire; probe_dialog.py)."""
