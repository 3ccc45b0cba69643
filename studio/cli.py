"""The `studio` console script: no command (or a .nnproj file) opens the app; other commands
are headless (engine.cli) except `screenshot`, which renders the window offscreen."""
from __future__ import annotations

import sys

GUI_COMMANDS = ("screenshot",)


def _add_gui_commands(sub) -> None:
    p = sub.add_parser("screenshot", help="render the main window with a project to PNG")
    p.add_argument("file", help="a .nnproj project file")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    p.add_argument("--tab", default=None, help="bottom tab to show (summary, problems, "
                   "training, log)")
    p.add_argument("--enter", default=None, metavar="NODE",
                   help="open the block instance named NODE first (shows its inside)")
    from .ui.teaching.screenshot import add_options

    add_options(p)   # --train, --view, --units, --probe
    p.set_defaults(func=_screenshot)


def _screenshot(args) -> int:
    from .app import screenshot
    return screenshot(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (len(argv) == 1 and not argv[0].startswith("-")
                    and argv[0].endswith(".nnproj")):
        from .app import run_app
        return run_app(argv[0] if argv else None)
    from engine.cli import main as engine_main
    return engine_main(argv, extra=_add_gui_commands)
