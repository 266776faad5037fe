"""commands: one module per custom manage.py command."""
