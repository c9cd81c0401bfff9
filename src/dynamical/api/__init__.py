"""The platform server: FastAPI app, routers per resource, auth, database models and migrations.

``create_app(settings)`` builds the server; ``init_database`` prepares a database (migrations and
the built-in skill catalogue); ``ensure_admin_key`` makes the first admin key.
"""
