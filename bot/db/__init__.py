"""Storage shared by the WhatsApp channel and the handover service.

``engine`` builds engines and sessions (SQLite WAL by default, any SQLAlchemy
URL), ``models`` holds the tables, ``migrate`` runs Alembic. The code is written
in 2.0 style and runs on SQLAlchemy 1.4 (the Rasa server's lock) and 2.x.
"""
