#include "relay/route.hpp"

#include <cstddef>
#include <vector>

namespace relay {

const store::SnapshotAccount* route(const store::Snapshot& snapshot, std::string_view model) {
  thread_local std::size_t turn = 0;
  std::size_t eligible = 0;
  for (const auto& a : snapshot.accounts)
    if (a.enabled && a.serves(model)) ++eligible;
  if (eligible == 0) return nullptr;
  std::size_t pick = turn++ % eligible;
  for (const auto& a : snapshot.accounts) {
    if (!a.enabled || !a.serves(model)) continue;
    if (pick-- == 0) return &a;
  }
  return nullptr;
}

}  // namespace relay
