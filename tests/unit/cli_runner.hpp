#pragma once
// Runs the CLI in-process as `codex-relay ARGS...`, capturing what it prints.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/cli.hpp"

namespace relay::test {

struct CliRun {
  int rc;
  std::string out, err;
};

inline CliRun run_cli_captured(std::vector<std::string> args) {
  args.insert(args.begin(), "codex-relay");
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int rc = app::run_cli(static_cast<int>(args.size()), argv.data());
  CliRun r{rc, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
  return r;
}

}  // namespace relay::test
