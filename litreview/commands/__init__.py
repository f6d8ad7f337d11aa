"""`litreview` subcommands by feature; each module has ``register(cli)``."""
