#!/bin/sh
# Entry point of alur's execution environment, run by tini (PID 1).
# AWX on Kubernetes, OpenShift and `podman run --user` start the image as an arbitrary UID that has no
# passwd entry; ssh refuses to run without one. /etc/passwd is group-writable (group 0, which such a UID
# always has): add the entry, with HOME=/runner as ansible-runner expects.
if ! whoami >/dev/null 2>&1 && [ -w /etc/passwd ]; then
    echo "runner:x:$(id -u):$(id -g):alur execution environment:${HOME:-/runner}:/bin/bash" >>/etc/passwd
fi
exec "$@"
