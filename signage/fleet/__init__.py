"""Fleet sync: each player writes locally and ships its rows to a central PostgreSQL."""
