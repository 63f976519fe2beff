"""`zhen review`: a local web workbench for post-editing a folder of zhen TEI files.

`workbench` knows the folder (which files can be reviewed, a document's state as the page
shows it, saving one sentence through edits.apply_edits); `app` is the Starlette
application around it (`create_app`), served by uvicorn on 127.0.0.1 (`serve`); `static/`
holds the page, its script and its style (no external resources).
"""
