"""``make bench``: the row diff measured against the floor of the machine it runs on."""
