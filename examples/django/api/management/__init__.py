"""management: the custom manage.py commands of the `api` app."""
