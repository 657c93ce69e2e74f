"""papermill 2.x loads its `papermill.engine` entry points when it is imported, but has no
group for translators: this module's import is the hook that registers the cast translator.
The engine itself is papermill's own nbclient engine, unchanged (`--engine cast` runs the
notebook exactly as the default engine does)."""
import sys

from papermill.engines import NBClientEngine

_translator = sys.modules.get("cast_papermill.translator")
if _translator is None or hasattr(_translator, "register"):
    from .translator import register

    register()
# Otherwise cast_papermill.translator is being imported right now (it imported papermill,
# which loaded this entry point): it registers itself when it finishes.


class CastEngine(NBClientEngine):
    """nbclient's engine; loading its module registers the cast translator."""
