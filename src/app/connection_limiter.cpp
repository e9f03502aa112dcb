#include "app/connection_limiter.hpp"

namespace relay::app {

ConnectionLimiter::Slot& ConnectionLimiter::Slot::operator=(Slot&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = o.owner_;
    address_ = o.address_;
    o.owner_ = nullptr;
  }
  return *this;
}

void ConnectionLimiter::Slot::release() {
  if (owner_ == nullptr) return;
  owner_->give_back(address_);
  owner_ = nullptr;
}

ConnectionLimiter::Slot ConnectionLimiter::acquire(const boost::asio::ip::address& address,
                                                   Verdict& verdict) {
  // The total first, lock-free: under a flood most refusals end here.
  if (open_.fetch_add(1, std::memory_order_relaxed) >= max_total_) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    refused_total_.fetch_add(1, std::memory_order_relaxed);
    verdict = Verdict::kTotalFull;
    return {};
  }
  {
    std::lock_guard lock(mu_);
    auto it = per_address_.try_emplace(address, 0).first;
    if (it->second >= max_per_address_) {
      if (it->second == 0) per_address_.erase(it);  // max_per_address_ 0: keep the map empty
      open_.fetch_sub(1, std::memory_order_relaxed);
      refused_address_.fetch_add(1, std::memory_order_relaxed);
      verdict = Verdict::kAddressFull;
      return {};
    }
    ++it->second;
  }
  verdict = Verdict::kAdmitted;
  return Slot(this, address);
}

void ConnectionLimiter::give_back(const boost::asio::ip::address& address) {
  {
    std::lock_guard lock(mu_);
    auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t ConnectionLimiter::addresses() const {
  std::lock_guard lock(mu_);
  return per_address_.size();
}

}  // namespace relay::app
