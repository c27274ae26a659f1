#!/bin/sh
# mcpo takes its API key only as a flag: read it from the environment here, so that it is in
# neither the image nor a label, and keep it out of the MCP server's environment.
set -eu
: "${MCPO_API_KEY:?MCPO_API_KEY must hold the API key}"
: "${MCPO_PORT:?MCPO_PORT must name the port to listen on}"
key="$MCPO_API_KEY"
unset MCPO_API_KEY
# 0.0.0.0 is the container's own namespace: Docker publishes the port on the LAN address only.
exec mcpo --host 0.0.0.0 --port "$MCPO_PORT" --api-key "$key" -- mcp-server-sequential-thinking
