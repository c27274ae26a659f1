#!/usr/bin/env python
"""The tool server's entrypoint: mcpo with its API key read from a file, never from argv.

mcpo takes its key only as the --api-key flag (its typer option declares no environment variable),
and a flag of an exec'd process is in every `ps` listing (/proc/<pid>/cmdline). This runs mcpo's
own command-line entry point (`mcpo = "mcpo:app"`) inside this interpreter, with sys.argv set here:
the kernel's copy of the command line stays `python /usr/local/bin/mcpo-entrypoint`. The key file
path leaves the environment first, so the MCP server mcpo starts inherits neither key nor path.
"""
import os
import sys


def main() -> None:
    key_file = os.environ.pop("MCPO_API_KEY_FILE", "")
    port = os.environ.get("MCPO_PORT", "")
    if not key_file or not port:
        sys.exit("mcpo-entrypoint: MCPO_API_KEY_FILE must name the API key's file and MCPO_PORT the port")
    try:
        with open(key_file, encoding="utf-8") as f:
            key = f.read().strip()
    except OSError as error:
        sys.exit(f"mcpo-entrypoint: cannot read the API key: {error}")
    if not key:
        sys.exit(f"mcpo-entrypoint: {key_file} is empty")
    # 0.0.0.0 is the container's own namespace: Docker publishes the port on the LAN address only.
    sys.argv = ["mcpo", "--host", "0.0.0.0", "--port", port, "--api-key", key, "--", "mcp-server-sequential-thinking"]
    from mcpo import app

    app()


if __name__ == "__main__":
    main()
