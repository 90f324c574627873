"""Running the player as a systemd service: the unit, its installer, and the notify protocol.

``notify``: ``sd_notify`` datagrams (READY, STATUS, WATCHDOG, STOPPING). ``observer``: the slot
loop's watchdog pings. ``unit``: the unit file. ``install``: ``signage service install|uninstall|status``.
"""
