#pragma once
// Conversation -> account bindings, so a conversation keeps hitting the provider's prompt cache
// on one account. Bounded (least recently used entries go first) and expiring. Not
// thread-safe: the pool guards it.
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pool/outcome.hpp"

namespace relay::pool {

class Affinity {
 public:
  Affinity(Millis ttl, std::size_t max_entries) : ttl_(ttl), max_(max_entries) {}

  std::optional<std::int64_t> get(std::string_view key, TimePoint now);  // refreshes the TTL
  void bind(std::string_view key, std::int64_t account_id, TimePoint now);
  std::size_t size() const { return map_.size(); }

 private:
  struct Item {
    std::string key;
    std::int64_t account_id;
    TimePoint expires;
  };
  Millis ttl_;
  std::size_t max_;
  std::list<Item> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<Item>::iterator> map_;
};

}  // namespace relay::pool
