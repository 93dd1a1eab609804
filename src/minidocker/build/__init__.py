"""Image builds: a Dockerfile and a context become an image in the store.

`parser` reads a Dockerfile into nodes as BuildKit's parser does, `shell` expands
variables, `instructions` gives each node its typed meaning, `plan` orders the stages,
`ignore` applies .dockerignore, `context` reads the build context, `cache` keys the
steps, and `builder` runs them (docs/build.md). The one entry point for front ends is
`minidocker.build.builder.build`.
"""
