#!/bin/sh
# Runs inside the image built by examples/hello/make-image.sh.
echo "Hello from ${GREETING_FROM:-somewhere}!"
echo "working directory: $(pwd)"
echo "running as: $(id -u):$(id -g)"
echo "files in /app:"
ls /app
