#pragma once
// Serve's side of the metadata records (docs/records.md): which journal this process writes,
// and the node name its records carry.
#include <functional>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "records/journal_queue.hpp"
#include "store/usage_store.hpp"

namespace relay::app {

// [server] node, else the host name; cut to 64 bytes of [A-Za-z0-9._-].
std::string node_name(const Config& cfg);

// Several serve processes may share a data dir (nodes on one host): each takes the first free
// journal slot, "usage", "usage-2" … "usage-16". Slots other than the one taken that nobody
// holds are delivered into the store first (a process that wrote them is gone), through
// connections from open_store. Throws std::runtime_error when every slot is taken.
std::unique_ptr<records::JournalQueue> open_record_journal(
    const std::string& data_dir, store::UsageStore& store,
    const std::function<std::unique_ptr<store::UsageStore>()>& open_store);

}  // namespace relay::app
