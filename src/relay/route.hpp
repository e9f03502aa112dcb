#pragma once
// Phase 5, route: picks an enabled account that serves the model. Health scores, affinity and
// failover arrive with the account pool; until then accounts take turns.
#include <string_view>

#include "store/snapshot.hpp"

namespace relay {

const store::SnapshotAccount* route(const store::Snapshot& snapshot, std::string_view model);

}  // namespace relay
