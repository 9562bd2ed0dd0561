"""LA case-management system (SSD EHCP tables) reached through SQLAlchemy."""
