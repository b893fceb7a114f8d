"""Landmark's REST API (django-ninja) under /api/v1/, with personal API tokens."""
