#include "pool/affinity.hpp"

namespace relay::pool {

std::optional<std::int64_t> Affinity::get(std::string_view key, TimePoint now) {
  auto it = map_.find(std::string(key));
  if (it == map_.end()) return std::nullopt;
  if (now >= it->second->expires) {
    lru_.erase(it->second);
    map_.erase(it);
    return std::nullopt;
  }
  it->second->expires = now + ttl_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->account_id;
}

void Affinity::bind(std::string_view key, std::int64_t account_id, TimePoint now) {
  // Every use pushes an entry to the front with a fresh TTL, so expiry follows list order:
  // expired entries collect at the back and go first.
  while (!lru_.empty() && now >= lru_.back().expires) {
    map_.erase(lru_.back().key);
    lru_.pop_back();
  }
  std::string k(key);
  if (auto it = map_.find(k); it != map_.end()) {
    it->second->account_id = account_id;
    it->second->expires = now + ttl_;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Item{k, account_id, now + ttl_});
  map_.emplace(std::move(k), lru_.begin());
  while (map_.size() > max_) {
    map_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

}  // namespace relay::pool
