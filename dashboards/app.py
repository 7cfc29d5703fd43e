"""The analysts' app: `revguard dashboard` runs `streamlit run dashboards/app.py`.

Pages are listed in `dashboards.navigation.PAGES`; this script only sets the page up and runs
the page the analyst chose (each page draws the shared sidebar through `layout.page_header`)."""
from __future__ import annotations

import streamlit as st

from dashboards.navigation import PAGES

st.set_page_config(page_title="revguard", page_icon=":material/shield:", layout="wide")

sections: dict[str, list] = {}
for entry in PAGES:
    sections.setdefault(entry.section, []).append(
        st.Page(entry.script, title=entry.title, icon=entry.icon, url_path=entry.url_path, default=entry is PAGES[0])
    )
page = st.navigation(sections)
page.run()
