"""The eatfit24 pack: its monitor checks, rollback, predeploy scenarios and drivers."""
