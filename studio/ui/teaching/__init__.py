"""Teaching mode widgets: the decision-boundary view (boundary_plot.py draws, boundary_tab.py
feeds it from the document and the running trainer), the lesson note above the canvas
(lesson_note.py), the wire probe (probe_menu.py: right-click a wire; probe_dialog.py) and the
explainer of one feature-map pixel (explainer.py: click a pixel in the Feature maps view;
explain_dialog.py shows its arithmetic in number_grid.py grids), and the Units and weights tab
(network_view.py; network_scene.py draws; weight_command.py is its undoable weight edit). The
per-unit heatmaps inside canvas nodes live in ../canvas/unit_heatmaps.py."""
