#pragma once
#include <memory>

#include "app/config.hpp"
#include "store/config_store.hpp"

namespace relay::app {

// Runs the relay until SIGINT/SIGTERM; returns the process exit code.
int run_server(const Config& cfg, std::unique_ptr<store::ConfigStore> store);

}  // namespace relay::app
