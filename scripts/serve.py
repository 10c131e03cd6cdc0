"""Run ``streamlit run app.py`` with app.py's ``st.navigation`` router in charge from the very first request.

Streamlit still treats an app that has a ``pages/`` folder as a legacy multipage app until its main script has
called ``st.navigation`` once in the process; until then a deep link such as ``/data`` runs ``pages/data.py`` on its
own, without the router's sidebar. Declaring up front that the app does not use the legacy pages folder makes every
request go through app.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parent.parent / "app.py"

if __name__ == "__main__":
    PagesManager.uses_pages_directory = False
    sys.exit(cli.main(["run", str(APP), *sys.argv[1:]], prog_name="streamlit"))
