"""The served page: ``adaft dashboard`` (Voila), its door and its kernels.

``serve.py`` (Voila behind the door), ``door.py`` (Host/Origin on every route, the query socket's
kernel proof), ``kernels.py`` (culling, the bounded pool), ``page_kernel.py`` (what a page's
kernel does before it builds the page).

May import: adaft_dashboard.app, and adaft_core's errors and store. No widgets are built here.
"""
