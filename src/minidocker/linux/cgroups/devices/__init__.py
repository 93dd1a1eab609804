"""The devices controller: OCI device rules, as v1 devices.allow/deny lines or as a cgroup v2
eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)."""
