"""Linux system interfaces: syscalls (ctypes), namespaces, mounts, capabilities, cgroups."""
