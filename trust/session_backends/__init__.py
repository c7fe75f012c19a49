"""Session engines that keep an ended session ended (see ``cached_db``)."""
