#pragma once
// Open client connections, in total and per client address, shared by every io thread. A slot
// is taken at accept and given back when the connection's coroutine ends.
#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace relay::app {

class ConnectionLimiter {
 public:
  enum class Verdict { kAdmitted, kTotalFull, kAddressFull };

  // Move-only; gives its slot back when destroyed (if it holds one).
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& o) noexcept : owner_(o.owner_), address_(std::move(o.address_)) {
      o.owner_ = nullptr;
    }
    Slot& operator=(Slot&& o) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }
    bool held() const { return owner_ != nullptr; }
    void release();

   private:
    friend class ConnectionLimiter;
    Slot(ConnectionLimiter* owner, const boost::asio::ip::address& a)
        : owner_(owner), address_(a) {}
    ConnectionLimiter* owner_ = nullptr;
    boost::asio::ip::address address_;
  };

  ConnectionLimiter(std::size_t max_total, std::size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  // A held slot, or an empty one with `verdict` saying which limit was reached.
  Slot acquire(const boost::asio::ip::address& address, Verdict& verdict);

  // Refused connections still get a short answer (after a TLS handshake), which costs a socket
  // for a moment; past this many at once the rest are closed unanswered.
  static constexpr std::size_t kMaxAnswering = 512;
  bool begin_refusal_answer() {
    if (answering_.fetch_add(1, std::memory_order_relaxed) < kMaxAnswering) return true;
    answering_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void end_refusal_answer() { answering_.fetch_sub(1, std::memory_order_relaxed); }

  std::size_t open() const { return open_.load(std::memory_order_relaxed); }
  std::size_t addresses() const;  // distinct addresses with an open connection
  std::size_t refused_total() const { return refused_total_.load(std::memory_order_relaxed); }
  std::size_t refused_address() const { return refused_address_.load(std::memory_order_relaxed); }

 private:
  void give_back(const boost::asio::ip::address& address);

  const std::size_t max_total_;
  const std::size_t max_per_address_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> refused_total_{0};
  std::atomic<std::size_t> refused_address_{0};
  std::atomic<std::size_t> answering_{0};
  mutable std::mutex mu_;
  // Only addresses with open connections: an entry goes when its count drops to 0, so the map
  // is never larger than the total limit.
  std::unordered_map<boost::asio::ip::address, std::size_t> per_address_;
};

}  // namespace relay::app
