#pragma once
// The codex-relay command line: serve, tenant, key, account, codex-config.

namespace relay::app {

// Parses argv and runs the chosen verb. Returns the exit code: 0 ok, 1 failure, 2 bad usage.
// Errors go to stderr as "codex-relay: error: ..." and never include secrets.
int run_cli(int argc, char** argv);

}  // namespace relay::app
