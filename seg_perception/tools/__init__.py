"""Command-line verbs (each ``add_arguments`` + ``run``)."""
