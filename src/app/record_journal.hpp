#pragma once
// Serve's side of the metadata records (docs/records.md): which journal this process writes,
// and the node name its records carry.
#include <functional>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "records/journal_queue.hpp"
#include "records/journal_sink.hpp"
#include "store/usage_store.hpp"

namespace relay::app {

// [server] node, else the host name; cut to 64 bytes of [A-Za-z0-9._-].
std::string node_name(const Config& cfg);

// Several serve processes may share a data dir (nodes on one host): each takes the first free
// journal slot, "usage", "usage-2" … "usage-16". Slots other than the one taken that nobody
// holds are delivered into the store first (a process that wrote them is gone), through
// sinks from open_sink. Throws std::runtime_error when every slot is taken.
std::unique_ptr<records::JournalQueue> open_record_journal(
    const std::string& data_dir, records::JournalSink& sink,
    const std::function<std::unique_ptr<records::JournalSink>()>& open_sink);

// Where this node's journal delivers (docs/records.md): relay.db's store (embedded); with
// store.backend = "postgres", the Redis stream when [redis] is set, else PostgreSQL directly,
// with the journal's offsets kept under this node's name (journals of different hosts share
// the names usage … usage-16). Throws like the store openers.
std::unique_ptr<records::JournalSink> open_journal_sink(const Config& cfg, const std::string& node);

}  // namespace relay::app
