#pragma once
// Chooses and opens the ConfigStore backend for a Config. Today: SQLite under data_dir.
#include <memory>

#include "app/config.hpp"
#include "store/config_store.hpp"

namespace relay::store {

// Creates data_dir (mode 0700) if missing, loads the master key (see crypto::load_master_key)
// and opens <data_dir>/relay.db. Throws std::runtime_error / StoreError with operator text.
std::unique_ptr<ConfigStore> open_config_store(const app::Config& cfg);

}  // namespace relay::store
