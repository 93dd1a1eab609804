"""One module per `minidocker` command."""
