"""Teaching mode widgets: the decision-boundary view (boundary_plot.py draws, boundary_tab.py
feeds it from the document and the running trainer) and the lesson note of a preset."""
