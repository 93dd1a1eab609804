"""Images: references, the OCI content store, layer unpack, overlay snapshots, registry, commit.

Modules needed by `minidocker run` (reference, store, snapshot) import only light stdlib
modules; HTTP and tar handling are imported inside the functions that pull, load or save.
"""
